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
from nengo_mpi.construction.halo import Halo
from nengo_mpi.files.run import main as run_main
from nengo_mpi.runtime import distributed_build, loopback, session as mpi_session

import models


def _probes(path, out):
    # --trust: the test saved the file (chain() has a user's neuron type in Python).
    assert run_main([str(path), "--time", "0.1", "--out", str(out), "--trust"],
                    None) == 0
    return nengo_mpi.load_probes(out)


def integrator_array():
    """An EnsembleArray whose decoded values cross components within a step when
    split (`nengo_mpi.lower.stages`)."""
    return models.integrator_array()[0]


@pytest.mark.parametrize("build, size, n_components, halo", [
    (integrator_array, 2, 3, True),
    (integrator_array, 3, 5, True),
    (models.chain, 2, 3, False),
    (models.chain, 3, 3, False),
    (models.chain, 8, 8, False),
    (models.grid, 2, 3, True),
    (models.grid, 3, 5, True),
    (models.grid, 8, 8, True),
])
def test_parallel_save_equals_a_serial_save(tmp_path, monkeypatch, build, size,
                                            n_components, halo):
    """Every rank writes its components, built around them alone where the model allows
    (``halo``: the chain's stochastic neurons do not), and the file set runs exactly as
    a file written by one process. After a halo build, no rank builds more than its
    part: rank 0 writes the model file's tables from what the ranks gathered."""
    halos, parts = [], []
    real = distributed._build_halo  # pylint: disable=protected-access
    real_part = distributed.build_part

    def counted(*args):
        built = real(*args)
        halos.append(built is not None)
        return built

    def counted_part(*args, **kwargs):
        parts.append(args[1])  # the rank it builds for
        return real_part(*args, **kwargs)

    monkeypatch.setattr(distributed, "_build_halo", counted)
    monkeypatch.setattr(distributed_build, "build_part", counted_part)
    net = build()
    parallel = tmp_path / "parallel.h5"
    loopback.run(size, nengo_mpi.save, net, parallel,
                 partitioner=nengo_mpi.Partitioner(n_components), seed=4)
    assert halos == [halo] * size
    assert sorted(parts) == list(range(size))  # one build per rank, none of the whole
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
    and every rank drops what it built. (The chain has stochastic neurons, so every
    rank builds the whole model: no halo build.)"""
    real = distributed.structure_digest
    monkeypatch.setattr(
        distributed, "structure_digest",
        lambda lowered: real(lowered) + (threading.current_thread().name != "MainThread"))
    with pytest.raises(BuildError, match="rank 1 derived a different model structure"):
        loopback.run(2, nengo_mpi.save, models.chain(), tmp_path / "x.h5",
                     partitioner=nengo_mpi.Partitioner(2))
    assert os.listdir(tmp_path) == []


def test_halo_builds_that_disagree_on_a_channel_stop_the_build(tmp_path, monkeypatch):
    """A rank of a halo build that names a channel differently from the rank at its
    other end (a bug) is caught before anything is written."""
    real = Halo.key_channels

    def skewed(self, channels, model):
        real(self, channels, model)
        if threading.current_thread().name != "MainThread":
            self.channel_keys = [(s, d, (k[0] + 1000, k[1])) for s, d, k in
                                 self.channel_keys]

    monkeypatch.setattr(Halo, "key_channels", skewed)
    with pytest.raises(BuildError, match="halo builds disagree: the channel from"):
        loopback.run(2, nengo_mpi.save, models.sine_squared(), tmp_path / "x.h5",
                     partitioner=nengo_mpi.Partitioner(2))
    assert os.listdir(tmp_path) == []


def test_a_rank_failing_while_the_ranks_agree_on_stages_stops_every_rank(
        tmp_path, monkeypatch):
    """A rank that fails between two rounds of the stage exchange
    (`nengo_mpi.lower.stages`) takes its part in the round the others are in: every
    rank stops, the failing rank's error reaches rank 0 naming it, and nothing is
    written."""
    real = distributed_build.stage_numbers

    def failing(graph, exchange):
        def flaky(*args):
            reply = exchange(*args)
            if threading.current_thread().name != "MainThread":
                raise RuntimeError("lost its stages")
            return reply
        return real(graph, flaky)

    monkeypatch.setattr(distributed_build, "stage_numbers", failing)
    with pytest.raises(RuntimeError, match="lost its stages") as caught:
        loopback.run(2, nengo_mpi.save, integrator_array(), tmp_path / "x.h5",
                     partitioner=nengo_mpi.Partitioner(3))
    assert caught.value.__notes__ == ["(raised on rank 1 of the nengo_mpi job)"]
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
