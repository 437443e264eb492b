"""Run with: mpirun -np 2 python -m pytest --with-mpi tests/mpi.

An operator that raises inside a run, on any rank, reaches the user on rank 0 as the
original exception, and the job carries on: the next simulator runs normally. Signals of
components on other ranks are readable and writable through ``sim.signals``.
"""

import numpy as np
import pytest

import nengo
import nengo_mpi
from nengo.exceptions import SimulationError, ValidationError
from nengo_mpi.runtime.spmd import on_root


class FailingProcess(nengo.Process):
    """Outputs t, and raises once t passes ``fail_at`` (module level: every rank has it)."""

    def __init__(self, fail_at, **kwargs):
        super().__init__(default_size_in=0, default_size_out=1, **kwargs)
        self.fail_at = fail_at

    def make_step(self, shape_in, shape_out, dt, rng, state):
        fail_at = self.fail_at

        def step(t):
            if t > fail_at:
                raise SimulationError(f"FailingProcess failed at t={t:.3f}")
            return [t]

        return step


def _net_with_failure(on_component):
    with nengo.Network(seed=1) as net:
        bad = nengo.Node(FailingProcess(fail_at=0.0045), label="bad")
        ens = nengo.Ensemble(20, 1, label="ens")
        nengo.Connection(bad, ens, synapse=0.005)
        probe = nengo.Probe(ens, synapse=0.01)
    return net, {bad: on_component, ens: 1 - on_component}, probe


def _failure_then_recovery(on_component):
    net, assignments, probe = _net_with_failure(on_component)
    sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                              assignments=assignments, progress_bar=False)
    with sim:
        try:
            sim.run(0.01)
        except SimulationError as e:
            message = str(e)
            notes = getattr(e, "__notes__", [])
        else:
            message, notes = None, []
    # The job is still healthy: a new simulator across the same ranks runs normally.
    with nengo.Network(seed=2) as ok:
        u = nengo.Node(0.5)
        a = nengo.Ensemble(30, 1)
        nengo.Connection(u, a)
        p = nengo.Probe(a, synapse=0.02)
    with nengo_mpi.Simulator(ok, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim2:
        sim2.run(0.2)
        final = float(sim2.data[p][-1, 0])
    return message, notes, final


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("component", [0, 1])
def test_operator_error_reaches_rank_0_and_job_continues(component):
    message, notes, final = on_root(_failure_then_recovery, component)
    assert message is not None and "FailingProcess failed at t=0.005" in message
    if component == 1:
        assert any("rank 1" in n for n in notes), notes
    assert abs(final - 0.5) < 0.15


def _remote_signals():
    with nengo.Network(seed=3) as net:
        u = nengo.Node([0.3, -0.2])
        a = nengo.Ensemble(40, 2)
        nengo.Connection(u, a)
    assignments = {u: 0, a: 1}
    out = {}
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             assignments=assignments, progress_bar=False) as sim:
        sim.run(0.05)
        voltage = sim.model.sig[a.neurons]["voltage"]
        v = sim.signals[voltage]
        out["read_only"] = not v.flags.writeable
        out["voltage"] = np.array(v)
        sim.signals[voltage] = np.full(v.shape, 0.25)
        out["after_write"] = np.array(sim.signals[voltage])
        out["n_signals"] = len(list(sim.signals))
    with nengo_mpi.runtime.session.suspended():
        with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                                 assignments=assignments, progress_bar=False) as sim:
            sim.run(0.05)
            voltage = sim.model.sig[a.neurons]["voltage"]
            out["voltage_1_process"] = np.array(sim.signals[voltage])
            out["n_signals_1_process"] = len(list(sim.signals))
    return out


@pytest.mark.mpi(min_size=2)
def test_signals_of_other_ranks():
    out = on_root(_remote_signals)
    assert out["read_only"]
    assert np.array_equal(out["voltage"], out["voltage_1_process"])
    assert np.all(out["after_write"] == 0.25)
    assert out["n_signals"] == out["n_signals_1_process"]


def _local_class_on_component_1():
    class ScriptLIF(nengo.LIF):  # only rank 0 could ever import this class
        pass

    with nengo.Network() as net:
        a = nengo.Ensemble(10, 1, neuron_type=ScriptLIF())
        b = nengo.Ensemble(10, 1)
        nengo.Connection(a, b)
    try:
        nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                            assignments={a: 1}, progress_bar=False)
    except ValidationError as e:
        refused = str(e)
    else:
        refused = None
    # Without an explicit assignment it stays on component 0, and runs.
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             progress_bar=False) as sim:
        sim.run(0.01)
        placed = sim.assignments[a]
    return refused, placed


@pytest.mark.mpi(min_size=2)
def test_class_only_on_rank_0_stays_there():
    refused, placed = on_root(_local_class_on_component_1)
    assert refused is not None and "ScriptLIF" in refused and "component 1" in refused
    assert placed == 0
