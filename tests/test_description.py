"""How the network's description travels to the other ranks
(`nengo_mpi.construction.description`): restored as nengo restores it, without
validating it again, and, for a halo build, only each rank's part of it."""

import pickle
import re

import cloudpickle
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nengo
import nengo_mpi
from nengo_mpi.construction import description
from nengo_mpi.construction.construct import new_model
from nengo_mpi.construction.distributed import (
    build_part, make_order, pack_order, pack_parts, unpack_order,
)
from nengo_mpi.construction.halo import Halo, needed_by_rank
from nengo_mpi.placement import rank_of_component
from nengo_mpi.lower.stages import stage_keys, stage_numbers

import models


def _state(obj):
    """What nengo says of ``obj``: its parameters' values, compared by value (objects
    by their text without their address, arrays by their bytes)."""
    if isinstance(obj, nengo.Network):
        return (obj.label, obj.seed, len(obj.all_objects))
    out = {}
    for name in obj.params:
        value = getattr(obj, name)
        if isinstance(value, np.ndarray):
            value = (value.dtype.str, value.shape, value.tobytes())
        out[name] = re.sub(r" at 0x[0-9a-f]+", "", repr(value))
    return out


def _learning():
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(lambda t: [np.sin(t), np.cos(t)], label="stim")
        a = nengo.Ensemble(20, 2, label="a", neuron_type=nengo.RectifiedLinear())
        b = nengo.Ensemble(20, 2, label="b", radius=1.5)
        nengo.Connection(stim, a)
        conn = nengo.Connection(a, b, function=lambda x: x ** 2,
                                learning_rule_type=nengo.PES(), label="ab")
        nengo.Connection(b, conn.learning_rule, transform=-1)
        nengo.Probe(b, synapse=nengo.Alpha(0.01))
    return net


def _spa():
    spa = pytest.importorskip("nengo_spa", reason="a nengo_spa model, if installed")
    with spa.Network(seed=2) as net:
        vision = spa.Transcode("A", output_vocab=16)
        state = spa.State(16, subdimensions=4)
        vision >> state
        nengo.Probe(state.output)
    return net


@pytest.mark.parametrize("build", [models.varied_network, models.grid, _learning, _spa])
def test_objects_are_restored_as_nengo_restores_them(build):
    """Every object's parameters after the fast restore are nengo's own restore's."""
    net = build()
    ours = pickle.loads(description.dumps(net))
    theirs = pickle.loads(cloudpickle.dumps(net))
    assert len(ours.all_objects) == len(theirs.all_objects) > 0
    for a, b in zip(ours.all_objects, theirs.all_objects):
        assert type(a) is type(b)
        assert _state(a) == _state(b), a


class _Tagged(nengo.Node):
    """A Node with a parameter of its own, left unset."""

    tag = nengo.params.IntParam("tag", default=3, optional=True)


def test_a_parameter_never_set_still_reads_its_default():
    with nengo.Network():
        node = _Tagged(output=1.0)
    assert node not in _Tagged.tag.data
    restored = pickle.loads(description.dumps(node))
    assert restored.tag == 3 and restored not in _Tagged.tag.data
    assert restored.output == 1.0


class _OwnPickling(nengo.Network):
    """A network class that pickles itself its own way (so it travels whole)."""

    def __getstate__(self):
        return super().__getstate__()


def _grid_order(size, n_components, wrapped=False):
    """The grid's build order, its rows dealt to the components in blocks (inside a
    network that travels whole, if ``wrapped``)."""
    net = models.grid(rows=5, cols=4, neurons=20)
    if wrapped:
        net.__class__ = _OwnPickling  # every rank is then sent every object
    assignments = {}
    for ens in net.all_ensembles:
        row = int(ens.label[1:].split("_")[0])
        assignments[ens] = row * n_components // 5
    model = new_model(0.001, "test")
    found = nengo_mpi.Partitioner(n_components).partition(net, assignments=assignments)
    return make_order(model, net, found, n_components, True), size


@pytest.mark.parametrize("size, n_components", [(2, 2), (2, 3), (3, 5)])
def test_each_ranks_part_is_its_halo(size, n_components):
    """`needed_by_rank` (one pass, on rank 0) is what each rank's `Halo` builds, and
    the part a rank is sent holds exactly those objects with their seeds."""
    order, size = _grid_order(size, n_components)
    needed = needed_by_rank(order.network, order.assignments,
                            lambda comp: rank_of_component(comp, size), size)
    payloads = pack_parts(order, size)
    assert payloads[0] is None
    labels = {obj: (type(obj).__name__, obj.label, order.seeds[obj])
              for obj in order.network.all_objects}
    for rank in range(size):
        halo = Halo(order.network, order.assignments, rank, size)
        assert needed[rank] == halo.needed
        if rank == 0:
            continue
        part = unpack_order(payloads[rank])
        got = part.network.all_ensembles + part.network.all_nodes + \
            part.network.all_connections + part.network.all_probes
        assert sorted(
            (type(o).__name__, o.label, part.seeds[o]) for o in got
        ) == sorted(labels[o] for o in halo.needed)
        assert len(got) < len(labels)  # a part, not the whole


class _Agreement:
    """One rank's side of `RankAgreement`, alone: every vote passes, and channels are
    numbered from this rank's keys."""

    def all(self, ok):
        return ok

    def stages(self, graph):
        before, after = stage_numbers(graph, lambda *_: ({}, {}, True))
        return stage_keys(graph, before, after)

    def tags(self, keys, ends):
        own = dict(zip(keys, ends))
        return {key: (tag, *(-1 if end is None else end for end in own[key]))
                for tag, key in enumerate(sorted(keys))}

    def whole(self, order):
        return order


def _records(built):
    return [(p.component, p.layout.initial_bytes().tobytes(), p.layout.views,
             [(r.order, r.method, r.args) for r in p.ops],
             [(q.index, q.view, q.period) for q in p.probes])
            for p in built.lowered.programs if p is not None]


@pytest.mark.parametrize("size, n_components, wrapped", [
    (2, 3, False), (3, 5, False), (2, 3, True)])
def test_a_rank_sent_its_part_lowers_what_the_whole_order_gives(size, n_components,
                                                                wrapped):
    """A halo build from a rank's part of the description lowers the same programs and
    channels as a halo build from the whole description (also when a network class
    of its own makes the part travel with the whole network)."""
    order, size = _grid_order(size, n_components, wrapped)
    payloads = pack_parts(order, size)
    whole = pack_order(order)
    with threadpool_limits(1):
        for rank in range(1, size):
            from_part = build_part(unpack_order(payloads[rank]), rank, size,
                                   agree=_Agreement())
            from_whole = build_part(unpack_order(whole), rank, size,
                                    agree=_Agreement())
            assert from_part.halo is not None and from_whole.halo is not None
            assert _records(from_part) == _records(from_whole)
            assert from_part.halo.channel_keys == from_whole.halo.channel_keys
            assert [ch.tag for ch in from_part.lowered.channels] == \
                [ch.tag for ch in from_whole.lowered.channels]


def _kept_by_walking(network, needed):
    """``needed``, the networks that hold any of it, and ``network``: found by walking
    every network and every object (what `PartIndex.part` finds from its index)."""
    keep = set(needed)

    def visit(net):
        held = any(obj in needed for kind in (nengo.Ensemble, nengo.Node,
                                              nengo.Connection, nengo.Probe)
                   for obj in net.objects[kind])
        for sub in net.networks:
            held = visit(sub) or held
        if held:
            keep.add(net)
        return held

    visit(network)
    keep.add(network)
    return keep


@pytest.mark.parametrize("build", [models.grid, _learning, _spa])
def test_a_part_from_the_index_pickles_as_filtering_the_network(build):
    """`PartIndex.part` (every object's network found once) keeps what a walk of the
    whole network keeps and prunes every network's lists as filtering them would: the
    pickled part is byte for byte the same."""
    net = build()
    index = description.PartIndex(net)
    objects = net.all_ensembles + net.all_nodes + net.all_connections + net.all_probes
    for needed in (set(objects[::3]), set(objects[-2:]), set()):
        keep, lists = index.part(needed)
        assert keep == _kept_by_walking(net, needed)
        assert set(lists) == {obj for obj in keep if isinstance(obj, nengo.Network)}
        for kept_net, kinds in lists.items():
            assert kinds == {kind: [obj for obj in objs if obj in keep]
                             for kind, objs in kept_net.objects.items()}
        assert description.dumps(net, keep=keep, lists=lists) == \
            description.dumps(net, keep=keep)
    # The pickler sends the lists it is given (not the network filtered again).
    keep, lists = index.part(set(objects))
    lists[net] = {kind: [] for kind in net.objects}
    assert description.dumps(net, keep=keep, lists=lists) != \
        description.dumps(net, keep=keep)
