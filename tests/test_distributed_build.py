"""Distributed construction, one rank at a time in this process: every rank's part must
agree with the others on the model's structure, and the components a rank lowers must
be exactly what the serial build lowers for them (same records, same initial bytes).

The same construction across real MPI ranks is tested in tests/mpi.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nengo
import nengo_mpi
from nengo_mpi.construction.construct import new_model
from nengo_mpi.construction.distributed import (
    build_part, make_order, pack_order, unpack_order,
)
from nengo_mpi.construction.halo import Halo, halo_candidate, number_channels
from nengo_mpi.construction.shadow import Locality, overwrite_initial_value
from nengo_mpi.lower.program import lower_model
from nengo_mpi.partition.tiles import Tile

import models


def _order(net, n_components, optimize=True, assignments=None):
    model = new_model(0.001, "test")
    partitioner = nengo_mpi.Partitioner(n_components)
    found = partitioner.partition(net, assignments=assignments)
    return model, make_order(model, net, found, n_components, optimize)


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if callable(a) and callable(b):
        return type(a) is type(b)  # e.g. reseed hooks: compared by what they are
    return a == b


def _program_record(program):
    """What a program gives the engine, without the Python objects it came from."""
    return (program.layout.initial_bytes().tobytes(), program.layout.views,
            [(r.order, r.method, r.args, r.seed_slot, r.op is None) for r in program.ops],
            [(p.index, p.view, p.period, p.shape, p.dtype) for p in program.probes])


def _parts(net, n_components, size, optimize=True):
    """Each rank's part, built in this process as that rank would build it."""
    _, order = _order(net, n_components, optimize)
    payload = pack_order(order)
    assert payload is not None
    parts = []
    with threadpool_limits(1):
        for rank in range(size):
            parts.append(build_part(unpack_order(payload), rank, size))
    return order, parts


@pytest.mark.parametrize("build, n_components, size", [
    (models.sine_squared, 2, 2),
    (models.chain, 3, 2),
    (models.chain, 4, 3),
    (models.varied_network, 3, 3),
    (models.tiled_recurrent, 3, 2),
])
def test_every_rank_lowers_its_components_as_the_serial_build_does(
        build, n_components, size):
    net = build()
    order, parts = _parts(net, n_components, size)
    assert len({part.digest for part in parts}) == 1, "ranks disagree on the structure"

    # The serial build, from the same seeds and assignments (the order's copy of the
    # network, so that the assignments' keys are its objects).
    model = new_model(0.001, "serial")
    model.seeds.update(order.seeds)
    model.seeded.update(order.seeded)
    with threadpool_limits(1):
        model.build(order.network)
    serial = lower_model(model, order.assignments, n_components, optimize=order.optimize)

    for comp in range(n_components):
        rank = comp % size
        got = _program_record(parts[rank].lowered.programs[comp])
        expected = _program_record(serial.programs[comp])
        assert _same(got, expected), f"component {comp} (rank {rank}) differs"
        for other, part in enumerate(parts):
            if other != rank:
                assert part.lowered.programs[comp].ops == [], "lowered on another rank"
    for a, b in zip(parts[0].lowered.channels, serial.channels):
        assert (a.src_component, a.dst_component, a.send_after, a.recv_before,
                a.same_step, a.src_view, a.dst_view) == (
                    b.src_component, b.dst_component, b.send_after, b.recv_before,
                    b.same_step, b.src_view, b.dst_view)
    assert len(parts[0].lowered.channels) == len(serial.channels)


def test_shadows_are_what_another_rank_runs():
    """An ensemble is a shadow where none of its components runs; its connections'
    decoders are not solved there."""
    with nengo.Network(seed=1) as net:
        a = nengo.Ensemble(30, 1)
        b = nengo.Ensemble(30, 1)
        c = nengo.Ensemble(30, 1)
        ab = nengo.Connection(a, b)
        bc = nengo.Connection(b, c, solver=nengo.solvers.LstsqL2(weights=True))
    _, order = _order(net, 2, assignments={a: 0, b: 1, c: 0})
    rank0 = Locality(net, order.assignments, rank=0, size=2)
    rank1 = Locality(net, order.assignments, rank=1, size=2)
    assert rank0.real == {a, c}
    # b's weight solve reads c's encoders: c is built for real where b solves.
    assert rank1.real == {b, c}
    assert rank0.owner_rank(b) == 1 and rank0.owner_rank(bc) == 1
    assert rank1.owner_rank(ab) == 0

    parts = [build_part(unpack_order(pack_order(order)), r, 2) for r in range(2)]
    objs = []  # each rank's own copy of a, b, c, ab, bc
    for part in parts:
        copy = part.model.toplevel
        objs.append(list(copy.all_ensembles) + list(copy.all_connections))
    assert parts[0].locality.shadowed == {objs[0][1], objs[0][4]}
    assert parts[1].locality.shadowed == {objs[1][0], objs[1][3]}
    real, shadow = parts[1].model.params[objs[1][1]], parts[0].model.params[objs[0][1]]
    assert real.encoders.shape == shadow.encoders.shape
    assert not np.array_equal(real.gain, shadow.gain)
    assert (parts[1].model.params[objs[1][4]].weights.shape
            == parts[0].model.params[objs[0][4]].weights.shape)


def test_build_functions_registered_by_the_script_travel_with_the_order():
    """A builder registered in a function (or in the script rank 0 runs) exists on no
    other rank: the order carries it, and the build there uses it."""

    class Doubled(nengo.Ensemble):
        pass

    def build_doubled(model, ens):
        # Travels by value (cloudpickle), so it leaves its trace on the model.
        model.__dict__.setdefault("built_doubled", []).append(ens)
        return nengo.builder.ensemble.build_ensemble(model, ens)

    nengo.builder.Builder.register(Doubled)(build_doubled)
    try:
        with nengo.Network(seed=3) as net:
            a = Doubled(20, 1)
            b = nengo.Ensemble(20, 1)
            nengo.Connection(a, b)
        _, order = _order(net, 2, assignments={a: 1, b: 0})
        payload = pack_order(order)
    finally:
        del nengo.builder.Builder.builders[Doubled]
    part = build_part(unpack_order(payload), 1, 2)  # as rank 1, which never registered
    built = part.model.built_doubled
    assert len(built) == 1 and built[0] is not a  # rank 1's copy of ``a``
    assert Doubled not in nengo.builder.Builder.builders  # registered only meanwhile
    assert part.locality.real == {built[0]}


def test_overwrite_initial_value_reaches_views():
    sig = nengo.builder.signal.Signal(np.zeros((2, 3)), name="s", readonly=True)
    view = sig[1]
    overwrite_initial_value(sig, np.arange(6.0).reshape(2, 3))
    assert np.array_equal(sig.initial_value, np.arange(6.0).reshape(2, 3))
    assert np.array_equal(view.initial_value, [[3.0, 4.0, 5.0]])


def test_shadows_do_not_change_other_threads_builds():
    """While one thread builds a shadow, nengo's helpers stay nengo's in the others."""
    import threading  # pylint: disable=import-outside-toplevel

    from nengo.builder import ensemble as nengo_ensemble  # pylint: disable=import-outside-toplevel
    from nengo_mpi.construction import shadow  # pylint: disable=import-outside-toplevel

    with nengo.Network():
        ens = nengo.Ensemble(10, 2)
    seen = {}

    def other():
        seen["other"] = nengo_ensemble.get_gain_bias(ens, np.random.RandomState(1))[0]

    with shadow._placeholder_values():  # pylint: disable=protected-access
        seen["here"] = nengo_ensemble.get_gain_bias(ens, np.random.RandomState(1))[0]
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    after = nengo_ensemble.get_gain_bias(ens, np.random.RandomState(1))[0]
    assert np.array_equal(seen["here"], np.ones(10))  # a shadow's placeholder gains
    assert np.array_equal(seen["other"], after)  # nengo's own, sampled
    assert not np.array_equal(after, np.ones(10))


def test_a_halo_is_a_ranks_components_and_their_neighbours():
    """A rank builds its own objects, the connections touching them, their other ends
    and its own probes; nothing else."""
    with nengo.Network(seed=1) as net:
        a = nengo.Ensemble(10, 1)
        b = nengo.Ensemble(10, 1)
        c = nengo.Ensemble(10, 1)
        d = nengo.Ensemble(10, 1)
        ab = nengo.Connection(a, b)
        bc = nengo.Connection(b, c)
        cd = nengo.Connection(c, d)
        pa = nengo.Probe(a)
        pd = nengo.Probe(d)
    assignments = {a: 0, b: 1, c: 2, d: 3}
    assert Halo(net, assignments, rank=0, size=4).needed == {a, b, ab, pa}
    assert Halo(net, assignments, rank=1, size=4).needed == {a, b, c, ab, bc}
    assert Halo(net, assignments, rank=3, size=4).needed == {c, d, cd, pd}
    # Components dealt round-robin: rank 0 of 2 holds components 0 and 2.
    two = Halo(net, assignments, rank=0, size=2)
    assert two.local == {0, 2} and two.needed == {a, b, c, d, ab, bc, cd, pa}
    assert two.probe_index == {pa: 0, pd: 1}


def test_only_tiles_rule_out_halos_from_the_description():
    """A connection without a synapse between two components is built as halos
    (ordered by stages, `nengo_mpi.lower.stages`); a tiled ensemble is not."""
    with nengo.Network(seed=1):
        a = nengo.Ensemble(10, 1)
        b = nengo.Ensemble(10, 1)
        nengo.Connection(a, b, synapse=None)
    assert halo_candidate({a: 0, b: 1})
    assert not halo_candidate({a: 0, Tile(b, 0, 0, 5): 1, Tile(b, 1, 5, 10): 0})


def test_random_streams_make_every_rank_build_the_whole_model():
    """A rank whose part draws random numbers (their seeds are places in the whole
    model's order) says so once built, and every rank builds the whole model."""
    with nengo.Network(seed=1) as net:
        a = nengo.Ensemble(10, 1)
        b = nengo.Ensemble(10, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
        nengo.Connection(a, b)
    _, order = _order(net, 2, assignments={a: 0, b: 1})
    assert halo_candidate(order.assignments)
    votes = []

    class Agreement:
        def all(self, ok):
            votes.append(ok)
            return ok

        def whole(self, order):
            return order

    with threadpool_limits(1):
        part = build_part(unpack_order(pack_order(order)), 1, 2, agree=Agreement())
    assert votes == [False] and part.halo is None and part.digest is not None


def test_channel_numbers_need_both_ends():
    assert number_channels([[(0, 1, (3, 0))], [(0, 1, (3, 0))]], 2) == {(0, 1, (3, 0)): 0}
    with pytest.raises(ValueError, match="known to ranks \\[0\\], not to the ranks"):
        number_channels([[(0, 1, (3, 0))], []], 2)
