"""What runs through Python is said once per class, by name; Node functions are not."""

import warnings

import nengo
import numpy as np
import pytest

import nengo_mpi
from nengo_mpi.partition.constraints import needs_python


class UserLIF(nengo.LIF):
    """A user's own neuron type (a subclass: its step might differ, so no native kernel)."""


class UserProcess(nengo.Process):
    def make_step(self, shape_in, shape_out, dt, rng, state):
        return lambda t: np.full(shape_out, np.sin(t))


def fallback_warnings(net):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with nengo_mpi.Simulator(net, progress_bar=False) as sim:
            sim.run(0.005)
    return [w for w in caught if issubclass(w.category, nengo_mpi.PythonFallbackWarning)]


def test_one_warning_per_class_naming_it():
    with nengo.Network(seed=0) as net:
        a = nengo.Ensemble(10, 1, neuron_type=UserLIF())
        b = nengo.Ensemble(10, 1, neuron_type=UserLIF())
        u = nengo.Node(UserProcess(default_size_out=1))
        nengo.Connection(u, a)
        nengo.Connection(a, b)
    caught = fallback_warnings(net)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2, messages
    assert "UserLIF" in messages[0] and "UserProcess" in messages[1]
    assert all("slower" in m for m in messages)
    # The warning points at the user's line, not at nengo_mpi's internals.
    assert all(w.filename == __file__ for w in caught)


def test_node_functions_are_not_reported():
    with nengo.Network(seed=0) as net:
        u = nengo.Node(lambda t: np.sin(t))
        a = nengo.Ensemble(10, 1)
        nengo.Connection(u, a)
    assert fallback_warnings(net) == []


def test_user_class_results_match_nengo():
    with nengo.Network(seed=1) as net:
        a = nengo.Ensemble(20, 1, neuron_type=UserLIF())
        u = nengo.Node(UserProcess(default_size_out=1))
        nengo.Connection(u, a)
        p = nengo.Probe(a, synapse=0.01)
    with pytest.warns(nengo_mpi.PythonFallbackWarning):
        with nengo_mpi.Simulator(net, progress_bar=False) as sim:
            sim.run(0.1)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.1)
    assert np.allclose(sim.data[p], ref.data[p], atol=1e-12)


def test_classes_defined_in_a_function_stay_on_rank_0():
    class LocalLIF(nengo.LIF):
        pass

    with nengo.Network():
        local = nengo.Ensemble(5, 1, neuron_type=LocalLIF())
        module_level = nengo.Ensemble(5, 1, neuron_type=UserLIF())
        node = nengo.Node(UserProcess(default_size_out=1))
        plain = nengo.Ensemble(5, 1)
    assert "LocalLIF" in needs_python(local)
    assert needs_python(module_level) is None  # importable by every rank
    assert needs_python(node) is None
    assert needs_python(plain) is None


def test_unpicklable_parts_stay_on_rank_0():
    with nengo.Network():
        process = UserProcess(default_size_out=1)
        process.callback = lambda t: t  # a lambda cannot be pickled
        node = nengo.Node(process)
    assert "cannot be sent" in needs_python(node)


def test_own_classes_run_on_rank_0_unless_assigned_elsewhere():
    with nengo.Network() as net:
        mine = [nengo.Ensemble(20, 1, neuron_type=UserLIF()) for _ in range(3)]
        plain = [nengo.Ensemble(20, 1) for _ in range(3)]
        for a, b in zip(mine + plain, plain + mine):
            nengo.Connection(a, b)
    placed = nengo_mpi.Partitioner(2).partition(net)
    assert all(placed[e] == 0 for e in mine)
    assert any(placed[e] == 1 for e in plain)
    moved = nengo_mpi.Partitioner(2).partition(net, assignments={mine[0]: 1})
    assert moved[mine[0]] == 1 and moved[mine[1]] == 0


def test_connection_functions_on_nodes_stay_on_rank_0():
    with nengo.Network() as net:
        stim = nengo.Node([0.5])  # an array output: nothing else pins it
        out = nengo.Node(size_in=1)
        ens = nengo.Ensemble(20, 1)
        nengo.Connection(stim, out, function=lambda x: x**2)
        nengo.Connection(stim, ens)
        nengo.Connection(ens, out)
    placed = nengo_mpi.Partitioner(2).partition(net)
    assert placed[stim] == 0
    with pytest.raises(nengo.exceptions.ValidationError, match="cannot be sent"):
        nengo_mpi.Partitioner(2).partition(net, assignments={stim: 1})
