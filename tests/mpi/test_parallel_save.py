"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi.

A model saved in parallel (every rank writes its own components to a part file, rank 0
the model file that links to them) runs as the same model saved by one process.
"""

import contextlib
import io
import os
import shutil
import sys
import tempfile

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402
from nengo_mpi.files.run import main as run_main  # noqa: E402
from nengo_mpi.files.saving import probe_label, probe_name  # noqa: E402
from nengo_mpi.runtime import session as mpi_session  # noqa: E402
from nengo_mpi.runtime.spmd import on_root  # noqa: E402


def _probes_of_run(path, directory, name):
    out = os.path.join(directory, name)
    assert run_main(["--trust", path, "--time", "0.2", "--out", out], None) == 0
    return nengo_mpi.load_probes(out)


def _same(a, b):
    return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


def _save_in_parallel():
    directory = tempfile.mkdtemp(prefix="nengo_mpi_psave_")
    try:
        size = mpi_session.active().size
        net = models.chain()
        parallel = os.path.join(directory, "parallel.h5")
        nengo_mpi.save(net, parallel, partitioner=nengo_mpi.Partitioner(3), seed=9)
        files = sorted(os.listdir(directory))
        with mpi_session.suspended(), threadpool_limits(1):
            serial = os.path.join(directory, "serial.h5")
            nengo_mpi.save(net, serial, partitioner=nengo_mpi.Partitioner(3), seed=9)
        same_run = _same(_probes_of_run(parallel, directory, "p.h5"),
                         _probes_of_run(serial, directory, "s.h5"))

        # A Simulator's save_file, written in parallel before its engines open.
        from_sim = os.path.join(directory, "from_sim.h5")
        with nengo_mpi.Simulator(models.chain(), partitioner=nengo_mpi.Partitioner(3),
                                 save_file=from_sim, seed=9, progress_bar=False) as sim:
            distributed = sim.distributed_build
            sim.run(0.2)
            live = {probe_name(probe_label(p), i): np.array(sim.data[p])
                    for i, p in enumerate(sim.model.probes)}
        same_sim = _same(live, _probes_of_run(from_sim, directory, "f.h5"))

        # The set moves together: the links are relative.
        moved = os.path.join(directory, "moved")
        os.mkdir(moved)
        for name in os.listdir(directory):
            if name.startswith("parallel.h5"):
                shutil.move(os.path.join(directory, name), moved)
        same_moved = _same(_probes_of_run(os.path.join(moved, "parallel.h5"), directory,
                                          "m.h5"),
                           nengo_mpi.load_probes(os.path.join(directory, "s.h5")))
        # Without a part file, the run refuses the model, naming the part.
        os.remove(os.path.join(moved, "parallel.h5.part1"))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = run_main(["--trust", os.path.join(moved, "parallel.h5"), "--time",
                             "0.1", "--out",
                             os.path.join(directory, "x.h5")], None)
        missing = code != 0 and "parallel.h5.part1" in err.getvalue()
        return size, files, same_run, distributed, same_sim, same_moved, missing
    finally:
        shutil.rmtree(directory)


@pytest.mark.mpi(min_size=2)
def test_parallel_save_runs_as_a_serial_save():
    (size, files, same_run, distributed, same_sim, same_moved,
     missing) = on_root(_save_in_parallel)
    writers = sorted({c % size for c in range(3)} - {0})
    assert files == ["parallel.h5"] + [f"parallel.h5.part{r}" for r in writers]
    assert same_run
    assert distributed and same_sim
    assert same_moved
    assert missing
