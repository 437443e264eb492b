"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

The same seeded model must give bitwise-identical probe data however it is split, however
many ranks run it and whether rank 0 or every rank builds it, and match nengo.Simulator
within nengo's own tolerances.
"""

import os
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo  # noqa: E402
import nengo_mpi  # noqa: E402
from nengo_mpi.construction.distributed import DISTRIBUTED_ENV  # noqa: E402
from nengo_mpi.runtime import session as mpi_session  # noqa: E402
from nengo_mpi.runtime.spmd import on_root  # noqa: E402


def _run(build, n_components, seconds, mode):
    """Probe data and component count of one Simulator; ``mode`` is "1 process",
    "distributed" (every rank builds its components) or "rank 0" (rank 0 builds and
    lowers everything, ``NENGO_MPI_DISTRIBUTED_BUILD=0``)."""
    net = build()
    kwargs = dict(partitioner=nengo_mpi.Partitioner(n_components), progress_bar=False)
    if mode != "1 process":
        saved = os.environ.get(DISTRIBUTED_ENV)
        os.environ[DISTRIBUTED_ENV] = "1" if mode == "distributed" else "0"
        try:
            with nengo_mpi.Simulator(net, **kwargs) as sim:
                assert sim.distributed_build == (mode == "distributed"), mode
                _run.halo = sim.halo_build
                return models.run_probes(sim, net, seconds), sim.n_components
        finally:
            if saved is None:
                del os.environ[DISTRIBUTED_ENV]
            else:
                os.environ[DISTRIBUTED_ENV] = saved
    # With MPI initialised this process never forks build workers, so it solves the
    # decoders itself, with nengo's BLAS threads; the ranks solve with one thread each
    # (as workers do), and OpenBLAS's sums depend on its thread count for large
    # ensembles. One thread here, as everywhere else.
    with mpi_session.suspended(), threadpool_limits(1):
        with nengo_mpi.Simulator(net, **kwargs) as sim:
            return models.run_probes(sim, net, seconds), sim.n_components


def _compare_all(build, seconds):
    """On rank 0: one process vs this job's ranks, for several component counts."""
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    size = MPI.COMM_WORLD.Get_size()
    reference, _ = _run(build, 1, seconds, "1 process")
    report = {"size": size, "identical": {}, "halo": {}, "max_abs_vs_nengo": None}
    for n in sorted({2, 3, size}):
        for mode in ("1 process", "rank 0", "distributed"):
            data, n_comp = _run(build, n, seconds, mode)
            key = f"{n} components, {size} ranks, {mode} build"
            if mode == "distributed":
                report["halo"][key] = _run.halo
            report["identical"][key] = n_comp == n and all(
                np.array_equal(a, b) for a, b in zip(reference, data)
            )
    net = build()
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref_data = models.run_probes(ref, net, seconds)
    report["shapes_match"] = [a.shape == b.shape for a, b in zip(reference, ref_data)]
    report["max_abs_vs_nengo"] = [float(np.max(np.abs(a - b))) for a, b in
                                  zip(reference, ref_data)]
    return report


@pytest.mark.mpi(min_size=2)
def test_seed_model_identical_at_any_rank_count():
    """The seed example: bitwise identical at every split, and equal to nengo to
    rounding (dot products add in the engine's own order, not BLAS's)."""
    report = on_root(_compare_all, models.sine_squared, 1.0)
    assert report["identical"] and all(report["identical"].values()), report
    assert all(report["shapes_match"]), report
    assert max(report["max_abs_vs_nengo"]) < 1e-12, report


@pytest.mark.mpi(min_size=2)
def test_grid_identical_at_any_rank_count():
    """A grid of ensembles, which every rank builds as its components and their
    neighbours alone (a halo build): bitwise identical at every split."""
    report = on_root(_compare_all, models.grid, 0.3)
    assert report["identical"] and all(report["identical"].values()), report
    assert report["halo"] and all(report["halo"].values()), report
    assert all(report["shapes_match"]), report
    assert max(report["max_abs_vs_nengo"]) < 1e-10, report


def _integrator_array():
    net, probes = models.integrator_array()
    net.probe_list = probes
    return net


@pytest.mark.mpi(min_size=2)
def test_values_crossing_within_a_step_identical_at_any_rank_count():
    """An EnsembleArray split from its passthrough nodes (its ensembles' decoded values
    cross components in the step that computes them), built as halos ordered by stages
    (`nengo_mpi.lower.stages`): bitwise identical at every split."""
    report = on_root(_compare_all, _integrator_array, 0.3)
    assert report["identical"] and all(report["identical"].values()), report
    assert report["halo"] and all(report["halo"].values()), report
    assert max(report["max_abs_vs_nengo"]) < 1e-10, report


@pytest.mark.mpi(min_size=2)
def test_nengo_spa_model_identical_at_any_rank_count():
    """nengo_spa's question answering (D = 16), built as halos ordered by stages: bitwise
    identical at every split, and to nengo within its tolerances."""
    pytest.importorskip("nengo_spa", reason="a nengo_spa model, if installed")
    report = on_root(_compare_all, models.spa_question, 0.3)
    assert report["identical"] and all(report["identical"].values()), report
    assert report["halo"] and all(report["halo"].values()), report
    assert max(report["max_abs_vs_nengo"]) < 1e-10, report


@pytest.mark.mpi(min_size=2)
def test_tiled_ensemble_identical_at_any_rank_count():
    """One ensemble split into tiles that sit on different ranks: bitwise identical at
    every split, and equal to nengo to rounding (each decoded value is summed tile by
    tile)."""
    report = on_root(_compare_all, models.tiled_recurrent, 0.3)
    assert report["identical"] and all(report["identical"].values()), report
    assert all(report["shapes_match"]), report
    assert max(report["max_abs_vs_nengo"]) < 1e-10, report


@pytest.mark.mpi(min_size=2)
def test_mixed_model_identical_at_any_rank_count():
    """Filters, recurrence, neuron->neuron weights, sample_every, a Python-fallback
    neuron type and a noise process: bitwise identical at every split."""
    report = on_root(_compare_all, models.chain, 0.5)
    assert report["identical"] and all(report["identical"].values()), report
    assert all(report["shapes_match"]), report
    # Decoded outputs stay within nengo's usual decoded-value tolerance; spike trains of
    # a 60-neuron ensemble may differ by rounding in BLAS sums, so only their rate is
    # compared below (spikes are 1/dt = 1000 in size).
    decoded = [report["max_abs_vs_nengo"][0], report["max_abs_vs_nengo"][2]]
    assert max(decoded) < 0.05, report


@pytest.mark.mpi(min_size=2)
def test_error_on_root_reaches_every_rank():
    """A failing build on rank 0 raises on every rank instead of leaving them waiting."""

    def bad():
        with nengo.Network() as net:
            a = nengo.Ensemble(10, 1)
            b = nengo.Ensemble(10, 1)
            nengo.Connection(a, b, learning_rule_type=nengo.PES())  # stays whole
        nengo_mpi.Simulator(net, assignments={a: 0, b: 1},
                            partitioner=nengo_mpi.Partitioner(2), progress_bar=False)

    with pytest.raises(RuntimeError, match="rank 0 failed: ValidationError"):
        on_root(bad)


def _pickled_poisson_continues():
    import pickle  # pylint: disable=import-outside-toplevel

    with nengo.Network(seed=3) as net:
        u = nengo.Node(0.8)
        a = nengo.Ensemble(40, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
        b = nengo.Ensemble(40, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
        nengo.Connection(u, a)
        nengo.Connection(a, b, synapse=0.005)
        p = nengo.Probe(b.neurons, sample_every=0.002)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             assignments={u: 0, a: 0, b: 1}, progress_bar=False) as sim:
        sim.run(0.05)
        clone = pickle.loads(pickle.dumps(sim))
        sim.run(0.05)
        expected = sim.data[p]
    with clone:
        clone.run(0.05)
        got = clone.data[clone.model.probes[0]]
    return bool(np.array_equal(got, expected)), bool(expected[25:].any())


@pytest.mark.mpi(min_size=2)
def test_pickled_simulator_continues_generators_on_other_ranks():
    """The generator of a Poisson ensemble on rank 1 is fetched into the pickle."""
    same, spiked = on_root(_pickled_poisson_continues)
    assert same and spiked
