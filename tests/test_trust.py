"""Model files are data unless trusted: their Python parts are refused by default,
before anything is unpickled or any rank steps, naming each part and how to allow it."""

import os
import pickle
import subprocess
import sys

import h5py
import nengo
import numpy as np
import pytest

import nengo_mpi
from nengo_mpi import _engine
from nengo_mpi.files import checkpoint as checkpoint_module
from nengo_mpi.files.format import crc32, seal
from nengo_mpi.files.load import ModelFile
from nengo_mpi.files.trust import TRUST_ENV

from models import PythonLIF

HERE = os.path.dirname(os.path.abspath(__file__))
MPIRUN = os.path.join(os.path.dirname(sys.executable), "mpirun")
#: The subprocesses import the test's models (PythonLIF) as the saving process did.
ENV = {k: v for k, v in os.environ.items() if k != TRUST_ENV}
ENV["PYTHONPATH"] = HERE


def stim_fn(t):
    return np.sin(8 * t)


def python_net():
    """A Node function and a neuron type without a kernel: two Python parts."""
    with nengo.Network(seed=2) as net:
        stim = nengo.Node(stim_fn, label="stim")
        a = nengo.Ensemble(30, 1, label="a")
        b = nengo.Ensemble(20, 1, neuron_type=PythonLIF(), label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, b)
        nengo.Probe(b, synapse=0.01, label="b")
    return net


def native_net():
    """Only kernels the engine has: no Python parts."""
    with nengo.Network(seed=2) as net:
        stim = nengo.Node(nengo.processes.PresentInput([[0.5], [-0.5]], 0.02))
        a = nengo.Ensemble(30, 1, label="a")
        nengo.Connection(stim, a)
        nengo.Probe(a, synapse=0.01, label="a")
    return net


@pytest.fixture(name="python_file")
def fixture_python_file(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = tmp_path / "python.h5"
    with pytest.warns(nengo_mpi.PythonFallbackWarning):
        nengo_mpi.save(python_net(), path, partitioner=nengo_mpi.Partitioner(2))
    return path


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nengo_mpi", "run", *map(str, args)],
                          env=dict(ENV, **(env or {})), capture_output=True, text=True,
                          timeout=120)


def test_a_file_with_python_parts_is_refused_naming_each_part(python_file, tmp_path):
    out = tmp_path / "out.h5"
    with pytest.raises(nengo_mpi.UntrustedFileError) as info:
        nengo_mpi.run_file(python_file, 0.05, out=out)
    message = str(info.value)
    assert "component 0: <Node 'stim'>: test_trust.stim_fn" in message
    assert "<Ensemble 'b'>: models.PythonLIF" in message
    for way in ("--trust", "trust=True", f"{TRUST_ENV}=1"):
        assert way in message
    # Refused before the run began: not even the probe file was started.
    assert not out.exists() and not os.path.exists(f"{out}.partial")


def test_the_command_line_refuses_without_a_traceback_and_runs_with_trust(python_file,
                                                                         tmp_path):
    out = tmp_path / "out.h5"
    proc = cli(python_file, "--time", 0.05, "--out", out)
    assert proc.returncode == 1, proc.stderr
    assert "carries Python code" in proc.stderr and "<Node 'stim'>" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    proc = cli(python_file, "--time", 0.05, "--out", out, "--trust")
    assert proc.returncode == 0, proc.stderr
    assert nengo_mpi.load_probes(out)["b"].shape == (50, 1)


def test_the_environment_variable_trusts_and_an_argument_overrides_it(python_file,
                                                                      tmp_path,
                                                                      monkeypatch):
    proc = cli(python_file, "--time", 0.02, "--out", tmp_path / "a.h5",
               env={TRUST_ENV: "1"})
    assert proc.returncode == 0, proc.stderr
    proc = cli(python_file, "--time", 0.02, "--out", tmp_path / "b.h5",
               env={TRUST_ENV: "0"})
    assert proc.returncode == 1 and "carries Python code" in proc.stderr
    monkeypatch.setenv(TRUST_ENV, "1")
    assert nengo_mpi.run_file(python_file, 0.02, out=tmp_path / "c.h5").n_steps == 20
    with pytest.raises(nengo_mpi.UntrustedFileError):
        nengo_mpi.run_file(python_file, 0.02, out=tmp_path / "d.h5", trust=False)


def test_a_bad_environment_value_is_an_error_naming_the_variable(python_file, tmp_path):
    proc = cli(python_file, "--time", 0.02, "--out", tmp_path / "a.h5",
               env={TRUST_ENV: "perhaps"})
    assert proc.returncode == 1
    assert f"{TRUST_ENV}='perhaps'" in proc.stderr and "Traceback" not in proc.stderr


def test_a_file_without_python_parts_needs_no_trust(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = tmp_path / "native.h5"
    nengo_mpi.save(native_net(), path)
    with ModelFile(path) as model:
        assert model.python_parts() == []
    data = nengo_mpi.run_file(path, 0.04, out=tmp_path / "out.h5")
    with nengo_mpi.Simulator(native_net(), seed=model.seed, progress_bar=False) as sim:
        sim.run(0.04)
        assert np.array_equal(data["a"], sim.data[sim.model.probes[0]])


def _forge_python_blob(path, payload):
    """Replace component 0's pickled operators by ``payload``'s pickle (CRC recomputed,
    as a crafted file would)."""
    raw = np.frombuffer(pickle.dumps(payload), dtype=np.uint8)
    with h5py.File(path, "r+") as f:
        g = f["components/0"]
        del g["python"]
        ds = g.create_dataset("python", data=raw)
        ds.attrs["crc32"] = np.uint32(crc32(raw))
    seal(path)


class _Marker:
    """Unpickling this creates the file ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_nothing_is_unpickled_from_an_untrusted_file(python_file, tmp_path):
    marker = tmp_path / "code_ran"
    _forge_python_blob(python_file, _Marker(marker))
    with pytest.raises(nengo_mpi.UntrustedFileError):
        nengo_mpi.run_file(python_file, 0.01, out=tmp_path / "a.h5")
    assert not marker.exists()
    # Trusted, the same file does run the pickle's code (so the check above could fail).
    with pytest.raises(Exception):
        nengo_mpi.run_file(python_file, 0.01, out=tmp_path / "b.h5", trust=True)
    assert marker.exists()


def test_the_python_parts_table_cannot_hide_a_pickle(python_file, tmp_path):
    """The refusal follows the pickled data itself, not its description."""
    with h5py.File(python_file, "r+") as f:
        for c in f["components"]:
            if "python_parts" in f["components"][c]:
                del f["components"][c]["python_parts"]
    seal(python_file)
    with pytest.raises(nengo_mpi.UntrustedFileError, match="not described in the file"):
        nengo_mpi.run_file(python_file, 0.01, out=tmp_path / "a.h5")


def test_a_pickled_engine_call_argument_is_refused(tmp_path, monkeypatch):
    """A call signature with an opaque (pickled) argument makes the file untrusted."""
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = tmp_path / "native.h5"
    nengo_mpi.save(native_net(), path)
    with h5py.File(path, "r+") as f:
        methods = [m.decode() for m in f["kinds/method"][()]]
        signatures = [s.decode() for s in f["kinds/signature"][()]]
        k = methods.index("add_copy")
        signatures[k] = signatures[k].replace("i", "p", 1)
        del f["kinds/signature"]
        array = np.array(signatures, dtype=object)
        ds = f["kinds"].create_dataset("signature", data=array,
                                       dtype=h5py.string_dtype("utf-8"))
        ds.attrs["crc32"] = np.uint32(crc32(array))
    seal(path)
    with pytest.raises(nengo_mpi.UntrustedFileError,
                       match=r"\(add_copy\) has a Python object argument"):
        nengo_mpi.run_file(path, 0.01, out=tmp_path / "a.h5")


def test_checkpoints_and_probe_files_are_read_without_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "native.h5"
    nengo_mpi.save(native_net(), path)
    ck, out = tmp_path / "ck.h5", tmp_path / "out.h5"
    nengo_mpi.run_file(path, 0.02, out=tmp_path / "first.h5", checkpoint=ck)

    def refuse(*args, **kwargs):
        raise AssertionError("a reader unpickled something")

    for module in (pickle, __import__("cloudpickle")):
        monkeypatch.setattr(module, "loads", refuse)
        monkeypatch.setattr(module, "load", refuse)
    data = nengo_mpi.run_file(path, 0.02, out=out, resume=ck)
    assert data.start_step == 20 and data["a"].shape == (20, 1)
    assert checkpoint_module.RNG_DTYPE.hasobject is False


@pytest.mark.skipif(not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
                    reason="needs the engine built with MPI and the environment's mpirun")
def test_every_rank_refuses_before_stepping(python_file, tmp_path):
    out = tmp_path / "out.h5"
    proc = subprocess.run(
        [MPIRUN, "-np", "2", sys.executable, "-m", "nengo_mpi", "run", str(python_file),
         "--time", "0.05", "--out", str(out)],
        env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "opening the model file (on every rank)" in proc.stderr
    assert "<Node 'stim'>" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not os.path.exists(f"{out}.partial")


def test_run_file_under_several_ranks_points_to_the_command(monkeypatch):
    class Session:  # what nengo_mpi.runtime.session.active() returns under mpirun
        size = 4

    monkeypatch.setattr("nengo_mpi.runtime.session.active", lambda: Session())
    with pytest.raises(RuntimeError, match="mpirun -np 4 python -m nengo_mpi run m.h5"):
        nengo_mpi.run_file("m.h5", 1.0)
