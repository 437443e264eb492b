"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi.

The ``run`` command's code on every rank of the job (what ``python -m nengo_mpi run``
executes): a model file run across the ranks writes the same probe file as one process,
a checkpoint written across the ranks resumes in one process, and bad input makes every
rank return non-zero.
"""

import os
import sys
import tempfile

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402
from nengo_mpi.files.run import main as run_main  # noqa: E402
from nengo_mpi.runtime import session as mpi_session  # noqa: E402


@pytest.fixture
def shared_dir():
    """One temporary directory every rank of the job uses (made by rank 0)."""
    s = mpi_session.start()
    path = tempfile.mkdtemp(prefix="nengo_mpi_files_") if s.rank == 0 else None
    path = s.comm.bcast(path, root=0)
    yield path
    s.comm.Barrier()
    if s.rank == 0:
        for name in os.listdir(path):
            os.remove(os.path.join(path, name))
        os.rmdir(path)


def _save(shared_dir, n_components):
    s = mpi_session.start()
    path = os.path.join(shared_dir, "chain.h5")
    if s.rank == 0:
        nengo_mpi.save(models.chain(), path,
                       partitioner=nengo_mpi.Partitioner(n_components))
    s.comm.Barrier()
    return path


def _serial(*args):
    """Run the command in rank 0's process alone (as a 1-rank job)."""
    return run_main([str(a) for a in args] + ["--trust"], None)


@pytest.mark.mpi(min_size=2)
def test_run_across_ranks_equals_one_process(shared_dir):
    s = mpi_session.start()
    model = _save(shared_dir, 5)
    out = os.path.join(shared_dir, "across.h5")
    code = run_main(["--trust", model, "--time", "0.2", "--out", out, "--checkpoint",
                     os.path.join(shared_dir, "ck.h5")], s)
    assert s.comm.allgather(code) == [0] * s.size
    if s.rank == 0:
        one = os.path.join(shared_dir, "one.h5")
        assert _serial(model, "--time", 0.2, "--out", one) == 0
        with open(one, "rb") as a, open(out, "rb") as b:
            assert a.read() == b.read()
        # The checkpoint the job wrote resumes in one process.
        assert _serial(model, "--time", 0.1, "--out", os.path.join(shared_dir, "b.h5"),
                       "--resume", os.path.join(shared_dir, "ck.h5")) == 0
        assert _serial(model, "--time", 0.3, "--out",
                       os.path.join(shared_dir, "full.h5")) == 0
        full = nengo_mpi.load_probes(os.path.join(shared_dir, "full.h5"))
        first = nengo_mpi.load_probes(out)
        rest = nengo_mpi.load_probes(os.path.join(shared_dir, "b.h5"))
        for key in full:
            assert np.array_equal(full[key], np.concatenate([first[key], rest[key]]))
    s.comm.Barrier()


@pytest.mark.mpi(min_size=2)
def test_bad_input_fails_on_every_rank(shared_dir):
    s = mpi_session.start()
    model = _save(shared_dir, 3)
    if s.rank == 0:
        with open(model, "r+b") as f:
            f.truncate(1000)
    s.comm.Barrier()
    code = run_main(["--trust", model, "--time", "0.1", "--out",
                     os.path.join(shared_dir, "p.h5")], s)
    codes = s.comm.allgather(code)
    assert all(c != 0 for c in codes), codes


@pytest.mark.mpi(min_size=2)
def test_checkpoint_failing_on_one_rank_fails_every_rank(shared_dir, monkeypatch, capsys):
    """A rank that cannot take its state does not leave rank 0 waiting for it."""
    from nengo_mpi.files import checkpoint  # pylint: disable=import-outside-toplevel

    s = mpi_session.start()
    model = _save(shared_dir, 2)
    if s.rank == 1:
        def broken(host):
            raise MemoryError("no room for the state")

        monkeypatch.setattr(checkpoint, "rank_state", broken)
    ck = os.path.join(shared_dir, "ck.h5")
    code = run_main(["--trust", model, "--time", "0.01", "--out",
                     os.path.join(shared_dir, "p.h5"),
                     "--checkpoint", ck], s)
    codes = s.comm.allgather(code)
    assert all(c != 0 for c in codes), codes
    if s.rank == 0:
        err = capsys.readouterr().err
        assert "rank 1: MemoryError: no room for the state" in err, err
        assert not os.path.exists(ck)


def _streamed_vs_in_memory(path):
    import nengo  # pylint: disable=import-outside-toplevel

    with nengo.Network(seed=6) as net:
        u = nengo.Node(np.sin)
        a = nengo.Ensemble(40, 1)
        b = nengo.Ensemble(40, 1)
        nengo.Connection(u, a)
        nengo.Connection(a, b, synapse=0.01)
        nengo.Probe(b, synapse=0.01)
        nengo.Probe(a.neurons, sample_every=0.002)
    kwargs = dict(partitioner=nengo_mpi.Partitioner(2), assignments={u: 0, a: 0, b: 1},
                  progress_bar=False, seed=1)
    with nengo_mpi.Simulator(net, **kwargs) as sim:
        sim.run(0.1)
        expected = [sim.data[p] for p in sim.model.probes]
    with nengo_mpi.Simulator(net, probe_file=path, **kwargs) as sim:
        sim.run(0.06)
        sim.run(0.04)
    data = nengo_mpi.load_probes(path)
    return all(np.array_equal(data[i], e) for i, e in enumerate(expected))


@pytest.mark.mpi(min_size=2)
def test_streamed_simulator_across_ranks(shared_dir):
    """sim.run with a probe file, the model split across ranks: the same data."""
    from nengo_mpi.runtime.spmd import on_root  # pylint: disable=import-outside-toplevel

    assert on_root(_streamed_vs_in_memory, os.path.join(shared_dir, "streamed.h5"))
