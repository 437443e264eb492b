"""nengo_mpi.Simulator's public API, errors, and agreement with nengo.Simulator."""

import importlib.metadata
import pickle

import numpy as np
import pytest
import nengo
from nengo.exceptions import (
    BuildError,
    ReadonlyError,
    SimulationError,
    SimulatorClosed,
    ValidationError,
)

import nengo_mpi
import nengo_mpi.lower.ownership
import nengo_mpi.lower.program

import models


def test_matches_reference_and_is_bitwise_equal_at_any_split():
    """The seed example split into 1, 2 or 3 components is bitwise the same each time,
    and equals nengo.Simulator to rounding. (Not bitwise: the engine's dot products add
    in their own fixed order, where numpy's follow whichever BLAS kernel it picked.)"""
    net = models.sine_squared()
    with nengo.Simulator(net, progress_bar=False) as ref:
        expected = models.run_probes(ref, net, 0.5)
    first = None
    for n in (1, 2, 3):
        with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n),
                                 progress_bar=False) as sim:
            got = models.run_probes(sim, net, 0.5)
            assert sim.n_components == n
            assert len(set(sim.assignments.values())) == n  # 3 objects, all apart
        for a, b in zip(expected, got):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
        first = first or got
        for a, b in zip(first, got):
            assert np.array_equal(a, b)


def test_seed_split_by_predicted_cost():
    """Partitioner(2) pins the seed example's Python Node to 0; by the shipped costs its
    call outweighs the two 100-neuron ensembles, which go together to component 1."""
    net = models.sine_squared()
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        by_label = {obj.label: c for obj, c in sim.assignments.items()}
    assert by_label == {"sine": 0, "a": 1, "b": 1}
    assert set(sim.assignments) == set(net.all_ensembles + net.all_nodes)


def test_time_trange_and_steps():
    net = models.sine_squared()
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        assert sim.n_steps == 0 and sim.time == 0.0
        sim.run(0.0105)  # rounds to 10 steps, as nengo does
        sim.step()
        sim.run_steps(4)
        assert sim.n_steps == 15
        assert np.isclose(sim.time, 0.015)
        assert np.allclose(sim.trange(), 0.001 * np.arange(1, 16))
        assert np.allclose(sim.trange(sample_every=0.005), [0.005, 0.01, 0.015])
        assert sim.data[net.probe_list[0]].shape == (15, 1)
        with pytest.raises(ReadonlyError):
            sim.dt = 0.002


def test_sample_every_matches_reference():
    with nengo.Network(seed=3) as net:
        u = nengo.Node(lambda t: np.cos(9 * t))
        a = nengo.Ensemble(30, 1)
        nengo.Connection(u, a)
        p = nengo.Probe(a, synapse=0.01, sample_every=0.0025)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.1)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        sim.run(0.1)
    # To rounding: the engine's dot products add in their own order (this was bitwise
    # only while both simulators took their decoders from one decoder cache).
    np.testing.assert_allclose(sim.data[p], ref.data[p], rtol=0, atol=1e-12)
    assert np.allclose(sim.trange(sample_every=0.0025), ref.trange(sample_every=0.0025))


def test_reset_reproduces_run_and_takes_seed():
    """reset() replays the same run; a new seed changes noise (a Python-fallback process)."""
    with nengo.Network(seed=1) as net:
        noise = nengo.Node(nengo.processes.WhiteNoise())
        a = nengo.Ensemble(20, 1)
        nengo.Connection(noise, a)
        p = nengo.Probe(a, synapse=0.01)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        sim.run(0.05)
        first = sim.data[p].copy()
        sim.reset()
        assert sim.n_steps == 0 and len(sim.data[p]) == 0
        sim.run(0.05)
        assert np.array_equal(sim.data[p], first)
        sim.reset(seed=sim.seed + 1)
        sim.run(0.05)
        assert not np.array_equal(sim.data[p], first)


def test_clear_probes():
    net = models.sine_squared()
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(5)
        sim.clear_probes()
        assert len(sim.data[net.probe_list[0]]) == 0
        sim.run_steps(3)
        assert len(sim.data[net.probe_list[0]]) == 3


def test_closed_simulator_raises():
    net = models.sine_squared()
    sim = nengo_mpi.Simulator(net, progress_bar=False)
    sim.close()
    assert sim.closed and sim.signals is None
    for call in (lambda: sim.run(0.01), lambda: sim.step(), lambda: sim.reset(),
                 lambda: sim.run_steps(1)):
        with pytest.raises(SimulatorClosed):
            call()
    with pytest.raises(SimulatorClosed):
        with sim:
            pass


def test_negative_time_is_a_validation_error():
    with nengo_mpi.Simulator(models.sine_squared(), progress_bar=False) as sim:
        with pytest.raises(ValidationError, match="time_in_seconds"):
            sim.run(-1)


@pytest.mark.parametrize("value", [None, np.nan, "text"])
def test_node_returning_bad_value_is_a_simulation_error(value):
    with nengo.Network() as net:
        u = nengo.Node(lambda t: value, size_out=1)
        nengo.Probe(u)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        with pytest.raises(SimulationError):
            sim.step()


def test_signals_are_views_of_engine_memory():
    """Writing through sim.signals changes what the engine computes next."""
    with nengo.Network() as net:
        u = nengo.Node([0.0])
        out = nengo.Node(size_in=1)
        nengo.Connection(u, out, synapse=None, transform=2.0)
        p = nengo.Probe(out)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.step()
        transform = sim.model.sig[net.all_connections[0]]["weights"]
        assert sim.signals[transform].flags.writeable is False  # readonly, as in nengo
        node_out = sim.model.sig[u]["out"]
        sim.signals[node_out] = [3.0]
        sim.step()
        assert sim.data[p][-1, 0] == 6.0


def test_progress_bar_runs():
    net = models.sine_squared()
    with nengo_mpi.Simulator(net, progress_bar=True) as sim:
        sim.run(0.2, progress_bar=True)
        assert sim.n_steps == 200


def test_pickle_roundtrip_keeps_state_and_split():
    """A pickled Simulator comes back with its split, time, signals and probe data."""
    with nengo.Network(seed=2) as net:
        u = nengo.Node(np.sin)  # picklable, unlike a lambda
        a = nengo.Ensemble(30, 1)
        b = nengo.Ensemble(30, 1)
        nengo.Connection(u, a)
        nengo.Connection(a, b)
        p = nengo.Probe(b, synapse=0.01)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        sim.run(0.1)
        clone = pickle.loads(pickle.dumps(sim))
        sim.run(0.05)
    with clone:
        assert clone.n_components == 2 and clone.n_steps == 100
        assert sorted(clone.assignments.values()) == sorted(sim.assignments.values())
        clone.run(0.05)
        # The restored state carries on exactly as the original did.
        assert np.array_equal(clone.data[clone.model.probes[0]], sim.data[p])


@pytest.mark.parametrize("neuron_type", [
    nengo.PoissonSpiking(nengo.LIFRate()), nengo.StochasticSpiking(nengo.RectifiedLinear()),
])
def test_pickle_continues_stochastic_neurons_and_probe_phase(neuron_type):
    """As in nengo, a pickled simulator continues its stochastic neurons' generators
    (restarting them would repeat the spikes of the first steps), and a probe with
    sample_every keeps sampling at the same steps."""
    with nengo.Network(seed=3) as net:
        u = nengo.Node(0.8)
        a = nengo.Ensemble(40, 1, neuron_type=neuron_type)
        nengo.Connection(u, a)
        spikes = nengo.Probe(a.neurons)
        sparse = nengo.Probe(a.neurons, sample_every=0.003)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        sim.run(0.1)
        clone = pickle.loads(pickle.dumps(sim))
        sim.run(0.1)
    with clone:
        clone.run(0.1)
        assert np.array_equal(clone.data[clone.model.probes[0]][100:], sim.data[spikes][100:])
        assert sim.data[spikes][100:].any()
        assert np.array_equal(clone.data[clone.model.probes[1]], sim.data[sparse])


def test_entry_point_registered():
    eps = importlib.metadata.entry_points(group="nengo.backends")
    assert any(ep.name == "mpi" and ep.load() is nengo_mpi.Simulator for ep in eps)


class _PythonAdaptiveLIF(nengo.AdaptiveLIF):
    """A subclass: translators match exact types, so this one has no kernel."""


def test_python_fallback_matches_reference():
    """Neuron types without a kernel run their own step through the fallback."""
    with nengo.Network(seed=5) as net:
        u = nengo.Node(0.6)
        a = nengo.Ensemble(40, 1, neuron_type=_PythonAdaptiveLIF(tau_n=0.1))
        nengo.Connection(u, a)
        p = nengo.Probe(a.neurons, "adaptation")
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.2)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run(0.2)
        kinds = {sim._runtime.host.engine.op_kind(i)
                 for i in range(sim._runtime.host.engine.n_ops)}
    assert "Python" in kinds and "AdaptiveLIF" not in kinds
    assert np.allclose(sim.data[p], ref.data[p], atol=1e-12)


# --- bad input -------------------------------------------------------------------------

def test_bad_partitioner_argument():
    with pytest.raises(ValidationError, match="partitioner"):
        nengo_mpi.Simulator(models.sine_squared(), partitioner=2, progress_bar=False)


def test_assignment_of_foreign_object():
    net = models.sine_squared()
    with nengo.Network():
        stranger = nengo.Ensemble(5, 1)
    with pytest.raises(ValidationError, match="assignments"):
        nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                            assignments={stranger: 1}, progress_bar=False)


def test_assignment_out_of_range():
    net = models.sine_squared()
    with pytest.raises(ValidationError, match="assignments"):
        nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                            assignments={net.all_ensembles[0]: 2}, progress_bar=False)


def _synapse_free_chain():
    with nengo.Network(seed=4) as net:
        u = nengo.Node(lambda t: np.sin(8 * t))
        a = nengo.Ensemble(30, 1, label="a")
        b = nengo.Ensemble(30, 1, label="b")
        c = nengo.Ensemble(30, 1, label="c")
        nengo.Connection(u, a, synapse=None)
        nengo.Connection(a, b, synapse=None)
        nengo.Connection(b, c, synapse=0.005)
        nengo.Connection(c, a, synapse=0.01, transform=0.5)
        probes = [nengo.Probe(x, synapse=0.01) for x in (a, b, c)]
    return net, (u, a, b, c), probes


@pytest.mark.parametrize("split", [(0, 1, 0, 1), (0, 0, 1, 1), (0, 1, 1, 0), (0, 2, 1, 0)])
def test_synapse_free_connections_cross_components(split):
    """A value set and read in one step crosses (a same-step channel): bitwise equal."""
    net, objs, probes = _synapse_free_chain()
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(1),
                             progress_bar=False) as one:
        one.run(0.1)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(3),
                             assignments=dict(zip(objs, split)),
                             progress_bar=False) as sim:
        sim.run(0.1)
    channels = sim._lowered.channels
    assert any(ch.same_step for ch in channels)
    for p in probes:
        assert np.array_equal(one.data[p], sim.data[p])


def test_lowering_refuses_set_and_updated_signal_crossing():
    """A signal both set and updated in its component has no single value to send."""
    sig = nengo.builder.signal.Signal(np.zeros(2), name="both")
    out = nengo.builder.signal.Signal(np.zeros(2), name="out")
    ops = [
        (nengo.builder.operator.Reset(sig), 0),
        (nengo.builder.operator.Copy(sig, out), 1),
        (nengo.builder.processes.SimProcess(nengo.Lowpass(0.01), out, sig, sig,
                                            mode="update"), 0),
    ]
    order = {op: i for i, (op, _) in enumerate(ops)}
    with pytest.raises(BuildError, match="cannot cross components"):
        nengo_mpi.lower.channels.find_channels(ops, order, {})


def test_signal_read_in_part_before_written_in_full_cannot_cross():
    """Node slice 0 feeds an ensemble on another component whose output comes back into
    slice 1 of the same node in the same step: one message per step cannot carry the
    node's value both before and after that, so the split is refused, naming both."""
    with nengo.Network(seed=1) as net:
        stim = nengo.Node(0.5)
        node = nengo.Node(size_in=2)
        ens = nengo.Ensemble(20, 1)
        nengo.Connection(stim, node[0], synapse=None)
        nengo.Connection(node[0], ens, synapse=None)
        nengo.Connection(ens, node[1], synapse=None)
        nengo.Probe(node)
    for split in ({stim: 1, node: 1, ens: 0}, {stim: 0, node: 0, ens: 1}):
        with pytest.raises(BuildError, match="cannot cross components"):
            nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                                assignments=split, progress_bar=False)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(5)
        whole = sim.data[net.probes[0]]
    # The node and the ensemble together, the stimulus elsewhere: fine.
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             assignments={stim: 1, node: 0, ens: 0},
                             progress_bar=False) as sim:
        sim.run_steps(5)
        np.testing.assert_array_equal(sim.data[net.probes[0]], whole)


def test_construction_failing_after_the_engines_opened_closes_them(tmp_path,
                                                                   monkeypatch):
    """A Simulator whose construction fails once its engines are open (here, its probe
    file cannot be made) closes them before raising: the user never got a simulator to
    close."""
    from nengo_mpi.files import probes_out  # pylint: disable=import-outside-toplevel
    from nengo_mpi.runtime import runtime  # pylint: disable=import-outside-toplevel

    closed = []
    real_close = runtime.Runtime.close

    def close(self):
        closed.append(self)
        real_close(self)

    def refuse(*args, **kwargs):
        raise OSError("no room for the probe file")

    monkeypatch.setattr(runtime.Runtime, "close", close)
    monkeypatch.setattr(probes_out, "ProbeWriter", refuse)
    with pytest.raises(OSError, match="no room for the probe file"):
        nengo_mpi.Simulator(models.sine_squared(), probe_file=tmp_path / "p.h5",
                            progress_bar=False)
    assert len(closed) == 1


def test_lowering_state_is_ours_not_set_on_nengos_model():
    """What lowering keeps (owners, seed slots, merged and tiled operators) lives in a
    LoweringState of ours, not in attributes set on nengo's Model: a model built and
    lowered here (merged, split, with tiles and noise) has only the attributes nengo's
    own Model has. The state travels with a pickled Simulator."""
    from nengo_mpi.lower.state import lowering_state  # pylint: disable=import-outside-toplevel

    net = models.chain()
    big = models.tiled_recurrent()
    fresh = set(vars(nengo.builder.Model()))
    for network, n in ((net, 3), (big, 2)):
        with nengo_mpi.Simulator(network, partitioner=nengo_mpi.Partitioner(n),
                                 progress_bar=False) as sim:
            sim.run_steps(5)
            assert set(vars(sim.model)) == fresh
            state = lowering_state(sim.model)
            assert state.op_owner and state.seed_slots and state.op_components
            if network is big:  # (chain's functions are lambdas: no pickle)
                assert state.tiled_ensembles
                restored = pickle.loads(pickle.dumps(sim))
                with restored:
                    assert set(vars(restored.model)) == fresh
                    again = lowering_state(restored.model)
                    assert again.n_seed_slots == state.n_seed_slots
                    assert len(again.op_owner) == len(state.op_owner)


def test_n_ranks_is_one_without_an_mpi_job():
    # Under mpirun: tests/test_cli.py::test_n_ranks_is_the_jobs_size.
    assert nengo_mpi.n_ranks() == 1
