"""The distributed construction and parallel save protocols under plain pytest: ranks
as threads of this process (`nengo_mpi.runtime.loopback`). The same protocols across
real MPI ranks, with engines, are tested in tests/mpi."""

import os
import threading

import numpy as np
import pytest
from nengo.exceptions import BuildError
from threadpoolctl import threadpool_limits

import nengo_mpi
from nengo_mpi.construction import distributed
from nengo_mpi.construction.construct import build_into, new_model
from nengo_mpi.files.run import main as run_main
from nengo_mpi.runtime import loopback, session as mpi_session

import models


def _probes(path, out):
    assert run_main([str(path), "--time", "0.1", "--out", str(out)], None) == 0
    return nengo_mpi.load_probes(out)


@pytest.mark.parametrize("size, n_components", [(2, 3), (3, 3), (8, 8)])
def test_parallel_save_equals_a_serial_save(tmp_path, size, n_components):
    net = models.chain()
    parallel = tmp_path / "parallel.h5"
    loopback.run(size, nengo_mpi.save, net, parallel,
                 partitioner=nengo_mpi.Partitioner(n_components), seed=4)
    writers = sorted({c % size for c in range(n_components)} - {0})
    assert sorted(os.listdir(tmp_path)) == ["parallel.h5"] + [
        f"parallel.h5.part{r}" for r in writers]
    serial = tmp_path / "serial.h5"
    with threadpool_limits(1):  # as every rank solves
        nengo_mpi.save(net, serial, partitioner=nengo_mpi.Partitioner(n_components),
                       seed=4)
    a = _probes(parallel, tmp_path / "a.h5")
    b = _probes(serial, tmp_path / "b.h5")
    assert sorted(a) == sorted(b)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_ranks_that_disagree_on_the_structure_stop_the_build(tmp_path, monkeypatch):
    """A rank deriving another structure (a bug) is caught before anything is written,
    and every rank drops what it built."""
    real = distributed.structure_digest
    monkeypatch.setattr(
        distributed, "structure_digest",
        lambda lowered: real(lowered) + (threading.current_thread().name != "MainThread"))
    with pytest.raises(BuildError, match="rank 1 derived a different model structure"):
        loopback.run(2, nengo_mpi.save, models.sine_squared(), tmp_path / "x.h5",
                     partitioner=nengo_mpi.Partitioner(2))
    assert os.listdir(tmp_path) == []


def _solved_by_other_ranks(net):
    model = new_model(0.001, "loopback")
    ahead = build_into(model, net, session=mpi_session.active())
    return ahead, [model.params[c].weights for c in net.all_connections]


def test_decoders_solved_by_other_ranks_are_the_same():
    net = models.varied_network()
    ahead, got = loopback.run(3, _solved_by_other_ranks, net)
    assert ahead > 0
    model = new_model(0.001, "serial")
    with threadpool_limits(1):
        build_into(model, net, build_workers=0)
    assert all(np.array_equal(a, model.params[c].weights)
               for a, c in zip(got, net.all_connections))


def test_a_failing_function_reaches_rank_0():
    def fails():
        raise ValueError("rank 0 gives up")

    with pytest.raises(ValueError, match="rank 0 gives up"):
        loopback.run(2, fails)
    assert mpi_session.active() is None
