"""Decoders solved ahead by worker processes (nengo_mpi.construction): nengo's to the bit,
nengo's errors, and no hang when a worker dies."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import nengo
from nengo.exceptions import BuildError, ValidationError
from threadpoolctl import threadpool_limits

import nengo_mpi
from models import varied_network
from nengo_mpi.construction.construct import build_into, new_model


def built_weights(sim_or_model, net):
    data = sim_or_model.data if hasattr(sim_or_model, "data") else sim_or_model.params
    return {conn: (data[conn].weights, data[conn].eval_points)
            for conn in net.all_connections}


def assert_same(got, expected):
    assert got.keys() == expected.keys()
    for conn in expected:
        for g, e in zip(got[conn], expected[conn]):
            if e is None:
                assert g is None, conn
            else:
                assert np.array_equal(g, e), conn  # to the bit


@pytest.fixture
def no_cache():
    saved = nengo.rc["decoder_cache"]["enabled"]
    nengo.rc["decoder_cache"]["enabled"] = "False"
    yield
    nengo.rc["decoder_cache"]["enabled"] = saved


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_decoders_are_nengos_whatever_the_workers(workers, no_cache):
    """Every solve uses one BLAS thread (OpenBLAS's results depend on its thread
    count), with workers or without: nengo's decoders with one thread."""
    net = varied_network()
    with threadpool_limits(limits=1):
        with nengo.Simulator(net, progress_bar=False, optimize=False) as ref:
            expected = built_weights(ref, net)
    model = new_model(0.001, "test")
    solved_ahead = build_into(model, net, build_workers=workers)
    assert solved_ahead == (0 if workers == 0 else 9)  # the decoded connections
    assert_same(built_weights(model, net), expected)


def test_simulator_runs_like_nengo_with_workers(no_cache):
    net = varied_network()
    with net:
        probe = nengo.Probe(net.ensembles[1], synapse=0.01)
    with threadpool_limits(limits=1), nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.1)
    with nengo_mpi.Simulator(net, progress_bar=False, build_workers=2) as sim:
        assert sim.decoders_solved_ahead == 9
        sim.run(0.1)
    np.testing.assert_allclose(sim.data[probe], ref.data[probe], rtol=0, atol=1e-10)


class FailingSolver(nengo.solvers.LstsqL2):
    def __call__(self, A, Y, rng=np.random):
        raise ValueError(f"cannot solve {A.shape}")


class LockedInfoSolver(nengo.solvers.LstsqL2):
    """Returns solver info that cannot be pickled (so cannot leave a worker)."""

    def __call__(self, A, Y, rng=np.random):
        X, info = super().__call__(A, Y, rng=rng)
        info["lock"] = threading.Lock()
        return X, info


def two_solvers(solver, seed=1):
    with nengo.Network(seed=seed) as net:
        a = nengo.Ensemble(30, 1)
        b = nengo.Ensemble(30, 1)
        nengo.Connection(a, b)
        nengo.Connection(b, a, solver=solver, label="the special one")
    return net


def test_failing_solver_raises_nengos_error(no_cache):
    with pytest.raises(ValueError) as expected:
        nengo.Simulator(two_solvers(FailingSolver()), progress_bar=False)
    with pytest.raises(ValueError) as got:
        nengo_mpi.Simulator(two_solvers(FailingSolver()), progress_bar=False,
                            build_workers=2)
    assert str(got.value) == str(expected.value) == "cannot solve (750, 30)"


def test_result_that_cannot_leave_a_worker_is_solved_here(no_cache):
    net = two_solvers(LockedInfoSolver())
    with threadpool_limits(limits=1), nengo.Simulator(net, progress_bar=False,
                                                      optimize=False) as ref:
        expected = built_weights(ref, net)
    model = new_model(0.001, "test")
    assert build_into(model, net, build_workers=2) == 1  # the other one, here
    assert_same(built_weights(model, net), expected)
    assert isinstance(model.params[net.connections[1]].solver_info["lock"],
                      type(threading.Lock()))


def test_bad_build_workers_is_named():
    net = two_solvers(nengo.solvers.LstsqL2())
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValidationError, match="build_workers"):
            nengo_mpi.Simulator(net, progress_bar=False, build_workers=bad)


def test_environment_variable_sets_the_default(monkeypatch, no_cache):
    net = two_solvers(nengo.solvers.LstsqL2())
    monkeypatch.setenv("NENGO_MPI_BUILD_WORKERS", "0")
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        assert sim.decoders_solved_ahead == 0
    monkeypatch.setenv("NENGO_MPI_BUILD_WORKERS", "two")
    with pytest.raises(ValidationError, match="NENGO_MPI_BUILD_WORKERS"):
        nengo_mpi.Simulator(net, progress_bar=False)


DYING_WORKER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import nengo
    import nengo_mpi

    nengo.rc["decoder_cache"]["enabled"] = "True"
    nengo.rc["decoder_cache"]["path"] = sys.argv[1]
    MAIN = os.getpid()

    class DyingSolver(nengo.solvers.LstsqL2):
        def __call__(self, A, Y, rng=np.random):
            if os.getpid() != MAIN:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__call__(A, Y, rng=rng)

    with nengo.Network(seed=1) as net:
        ens = [nengo.Ensemble(40, 1) for _ in range(4)]
        for pre, post in zip(ens, ens[1:]):
            nengo.Connection(pre, post)
        nengo.Connection(ens[-1], ens[0], solver=DyingSolver())
    try:
        nengo_mpi.Simulator(net, progress_bar=False, build_workers=2)
    except nengo.exceptions.BuildError as e:
        print("BuildError:", e)
""")


def test_dying_worker_is_a_clear_error_and_leaves_the_cache_sound(tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "dying.py"
    script.write_text(DYING_WORKER)
    # A hang would be caught by the timeout (the test then fails).
    out = subprocess.run([sys.executable, str(script), str(cache)], capture_output=True,
                         text=True, timeout=120, check=True)
    assert "BuildError:" in out.stdout, out.stderr
    assert "worker process solving decoders died" in out.stdout
    # The cache still gives nengo's decoders for the connections that were solved.
    saved = dict(nengo.rc["decoder_cache"])
    try:
        nengo.rc["decoder_cache"]["enabled"] = "True"
        nengo.rc["decoder_cache"]["path"] = str(cache)
        with nengo.Network(seed=1) as net:
            ens = [nengo.Ensemble(40, 1) for _ in range(4)]
            for pre, post in zip(ens, ens[1:]):
                nengo.Connection(pre, post)
        with nengo_mpi.Simulator(net, progress_bar=False, build_workers=2) as sim:
            got = built_weights(sim, net)
        nengo.rc["decoder_cache"]["enabled"] = "False"
        with threadpool_limits(limits=1), nengo.Simulator(
                net, progress_bar=False, optimize=False) as ref:
            assert_same(got, built_weights(ref, net))
    finally:
        for key, value in saved.items():
            nengo.rc["decoder_cache"][key] = value


CACHED_BUILD = textwrap.dedent("""
    import sys
    import numpy as np
    import nengo
    import nengo_mpi

    nengo.rc["decoder_cache"]["enabled"] = "True"
    nengo.rc["decoder_cache"]["path"] = sys.argv[1]
    net = nengo.networks.EnsembleArray(30, 12, seed=5)
    with nengo_mpi.Simulator(net, progress_bar=False, build_workers=2) as sim:
        weights = np.concatenate([sim.data[c].weights.ravel() for c in net.all_connections
                                  if c.pre in net.all_ensembles])
    np.save(sys.argv[2], weights)
""")


def test_cache_with_concurrent_writers(tmp_path):
    """Two builds share one cache at the same time (each with two workers writing);
    then a build served from the cache gives the decoders of a build without one."""
    cache = tmp_path / "cache"
    script = tmp_path / "cached.py"
    script.write_text(CACHED_BUILD)
    procs = [subprocess.Popen([sys.executable, str(script), str(cache),
                               str(tmp_path / f"w{i}.npy")]) for i in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    subprocess.run([sys.executable, str(script), str(cache), str(tmp_path / "hit.npy")],
                   check=True, timeout=300)
    files = [f for d in cache.iterdir() if d.is_dir() for f in d.iterdir()]
    assert files, "the workers wrote no cache entry"
    saved = nengo.rc["decoder_cache"]["enabled"]
    nengo.rc["decoder_cache"]["enabled"] = "False"
    try:
        net = nengo.networks.EnsembleArray(30, 12, seed=5)
        with threadpool_limits(limits=1), nengo.Simulator(
                net, progress_bar=False, optimize=False) as ref:
            expected = np.concatenate([ref.data[c].weights.ravel()
                                       for c in net.all_connections
                                       if c.pre in net.all_ensembles])
    finally:
        nengo.rc["decoder_cache"]["enabled"] = saved
    for name in ("w0", "w1", "hit"):
        assert np.array_equal(np.load(tmp_path / f"{name}.npy"), expected), name


def test_connections_in_build_order_is_nengos():
    """The workers solve in the order nengo's builder asks for decoders."""
    from nengo.builder import Builder, Model  # pylint: disable=import-outside-toplevel

    from nengo_mpi.construction.solve_plan import connections_in_build_order

    built = []

    class Recording(Builder):
        @classmethod
        def build(cls, model, obj, *args, **kwargs):
            if isinstance(obj, nengo.Connection):
                built.append(obj)
            return super().build(model, obj, *args, **kwargs)

    net = varied_network()
    with net:
        nengo.networks.EnsembleArray(10, 3)  # nested subnetworks
    Model(builder=Recording()).build(net)
    assert built == list(connections_in_build_order(net))


def test_chunks_cover_every_connection_once_in_order():
    from nengo_mpi.construction.prefetch import _deal  # pylint: disable=import-outside-toplevel
    from nengo_mpi.construction.solve_plan import plan_chunks  # pylint: disable=import-outside-toplevel

    net = nengo.networks.EnsembleArray(20, 30, seed=1)
    conns = [c for c in net.all_connections if isinstance(c.pre_obj, nengo.Ensemble)]
    for workers in (1, 2, 3, 8, 100):
        chunks = plan_chunks(conns, workers)
        assert [i for chunk in chunks for i in chunk] == list(range(len(conns)))
        assert 1 <= len(chunks) <= 8 * workers
    by_rank = _deal(plan_chunks(conns, 3), [1.0] * len(conns), 3)
    sizes = [sum(len(c) for _, c in chunks) for chunks in by_rank]
    assert sum(sizes) == len(conns)
    assert sizes[0] < sizes[1] and sizes[0] < sizes[2]  # rank 0 also builds the rest
