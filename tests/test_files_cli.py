"""``python -m nengo_mpi run`` under the real launcher.

One model file run at 1, 2, 4 and 8 ranks (8 oversubscribe this machine's cores) writes
byte-identical probe files; a checkpointed run resumed at another rank count continues
it exactly; bad input ends every rank with a non-zero exit code before any step; a rank
killed mid-run ends the job within seconds and leaves the checkpoint and the probe
blocks written so far readable.
"""

import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import nengo
import nengo_mpi
from nengo_mpi import _engine
from nengo_mpi.files import probes_out
from nengo_mpi.files.checkpoint import Checkpoint
from nengo_mpi.files.format import seal
from nengo_mpi.files.load import ModelFile

from models import chain

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
MPIRUN = os.path.join(BIN, "mpirun")

pytestmark = pytest.mark.skipif(
    not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
    reason="needs the engine built with MPI and the environment's mpirun",
)

#: The chain model's user-defined neuron type lives in tests/models.py, which every
#: rank must be able to import to load it.
ENV = dict(os.environ, PYTHONPATH=HERE)


def run_cmd(n, *args):
    """The mpirun command that runs ``python -m nengo_mpi run args`` on n ranks, each
    rank reporting its own exit code on stderr ("rank exit: <code>")."""
    # --trust: the tests save their own files (tests/test_trust.py checks the refusal).
    inner = " ".join([sys.executable, "-m", "nengo_mpi", "run", *map(str, args),
                      "--trust"])
    return [MPIRUN, "-np", str(n), "sh", "-c", f'{inner}; c=$?; echo "rank exit: $c" >&2;'
            ' exit $c']


def launch(n, *args, timeout=120):
    start = time.monotonic()
    proc = subprocess.run(run_cmd(n, *args), env=ENV, capture_output=True, text=True,
                          timeout=timeout)
    codes = [int(c) for c in re.findall(r"rank exit: (\d+)", proc.stderr)]
    return proc, codes, time.monotonic() - start


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "chain.h5"
    nengo_mpi.save(chain(n_ens=6), path, partitioner=nengo_mpi.Partitioner(6))
    return path


def test_identical_probe_files_at_1_2_4_8_ranks(chain_file, tmp_path):
    files = []
    for n in (1, 2, 4, 8):
        out = tmp_path / f"p{n}.h5"
        proc, codes, _ = launch(n, chain_file, "--time", 0.3, "--out", out)
        assert codes == [0] * n, proc.stderr
        files.append(out.read_bytes())
    assert all(f == files[0] for f in files[1:])
    data = nengo_mpi.load_probes(tmp_path / "p1.h5")
    assert data.complete and data.n_steps == 300 and len(data) == 3


def test_resume_at_another_rank_count_equals_uninterrupted(chain_file, tmp_path):
    proc, codes, _ = launch(1, chain_file, "--time", 0.3, "--out", tmp_path / "full.h5")
    assert codes == [0], proc.stderr
    proc, codes, _ = launch(2, chain_file, "--time", 0.12, "--out", tmp_path / "a.h5",
                            "--checkpoint", tmp_path / "ck.h5")
    assert codes == [0, 0], proc.stderr
    proc, codes, _ = launch(3, chain_file, "--time", 0.18, "--out", tmp_path / "b.h5",
                            "--resume", tmp_path / "ck.h5")
    assert codes == [0, 0, 0], proc.stderr
    full, a, b = (nengo_mpi.load_probes(tmp_path / n) for n in ("full.h5", "a.h5", "b.h5"))
    for key in full:
        assert np.array_equal(full[key], np.concatenate([a[key], b[key]])), key
        assert np.array_equal(full.trange(key), np.concatenate([a.trange(key),
                                                                b.trange(key)]))


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 3)


def _bump_version(path):
    import h5py  # pylint: disable=import-outside-toplevel

    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 7
    seal(path)  # crafted, not damaged: what meets it is the version check


def _drop_component(path):
    import h5py  # pylint: disable=import-outside-toplevel

    with h5py.File(path, "a") as f:
        del f["components/1"]
    seal(path)


def _corrupt_component_1(path):
    import h5py  # pylint: disable=import-outside-toplevel

    with h5py.File(path, "r") as f:
        offset = f["components/1/buffer"].id.get_offset()
    with open(path, "r+b") as f:
        f.seek(offset + 64)
        byte = f.read(1)[0]
        f.seek(offset + 64)
        f.write(bytes([byte ^ 0x01]))


def _corrupt_component_1_resealed(path):
    _corrupt_component_1(path)
    seal(path)  # past the seal, only rank 1 reads component 1 and finds its CRC wrong


@pytest.mark.parametrize("damage, args, message", [
    # Rank 0 checks the seal of the whole file for every rank.
    (_corrupt_component_1, (), ("(on rank 0 of 2)", "do not match its SHA-256 seal")),
    # Only rank 1 reads component 1 (rank 0 runs 0, 2, 4): it alone finds the damage.
    (_corrupt_component_1_resealed, (), (
        "(on rank 1 of 2)", "component 1: /components/1/buffer is corrupted")),
    (_truncate, (), "do not match its SHA-256 seal"),
    (_bump_version, (), "format version 7"),
    (_drop_component, (), "component 1 of 6 is missing"),
    (None, ("--time", "-1"), "--time must be a number of seconds >= 0"),
    (None, ("--out", "/proc/nengo_mpi/p.h5"), "cannot write '/proc/nengo_mpi/p.h5'"),
])
def test_bad_input_ends_every_rank_before_stepping(chain_file, tmp_path, damage, args,
                                                   message):
    model = tmp_path / "model.h5"
    model.write_bytes(chain_file.read_bytes())
    if damage is not None:
        damage(model)
    full = ["--time", "0.1", "--out", tmp_path / "p.h5"]
    for i in range(0, len(args), 2):  # later options override the defaults above
        full[full.index(args[i]) + 1] = args[i + 1]
    proc, codes, seconds = launch(2, model, *full)
    assert len(codes) == 2 and all(c != 0 for c in codes), proc.stderr
    for part in (message,) if isinstance(message, str) else message:
        assert part in proc.stderr
    assert "BAD TERMINATION" not in proc.stderr  # every rank left on its own
    assert "steps to t =" not in proc.stderr
    assert not os.path.exists(tmp_path / "p.h5")
    assert seconds < 60


def _steps_written(out):
    """Steps in a running job's .partial probe file (0 while it cannot be read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nengo_mpi.load_probes(str(out) + ".partial").n_steps
    except (OSError, KeyError, ValueError):
        return 0  # not there yet, or caught mid-write


def test_killed_rank_ends_the_job_and_leaves_files_readable(tmp_path):
    """SIGKILL one rank mid-run: the job ends within seconds; the last checkpoint and the
    probe blocks already written are readable, and the checkpoint resumes."""
    with nengo.Network(seed=2) as net:
        # Sleeping keeps the run slow without using the CPU.
        slow = nengo.Node(lambda t: time.sleep(0.001) or np.sin(t), label="slow")
        ens = nengo.Ensemble(1000, 1, label="big")
        nengo.Connection(slow, ens)
        nengo.Probe(ens.neurons, label="spikes")  # 8 kB a step: blocks of ~1000 steps
        nengo.Probe(ens, synapse=0.01, label="value")
    model = tmp_path / "slow.h5"
    nengo_mpi.save(net, model, partitioner=nengo_mpi.Partitioner(2),
                   assignments={slow: 0, ens: 1})
    out, ck = tmp_path / "p.h5", tmp_path / "ck.h5"
    proc = subprocess.Popen(
        run_cmd(2, model, "--time", 60, "--out", out, "--checkpoint", ck,
                "--checkpoint-every", 0.5),
        env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        pids = None
        while pids is None:
            line = proc.stderr.readline()
            assert line, "the job ended before it started"
            pids = re.search(r"rank 0: pid (\d+), rank 1: pid (\d+)", line)
        deadline = time.monotonic() + 60
        while not ck.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ck.exists(), "no checkpoint was written"
        while _steps_written(out) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)  # until a block of probe data is on disk
        os.kill(int(pids.group(2)), signal.SIGKILL)
        killed = time.monotonic()
        rest = proc.communicate(timeout=30)[1]
        ended = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert ended < 10, f"the job took {ended:.1f} s to end"
    assert "Killed" in rest or "BAD TERMINATION" in rest, rest
    assert not out.exists()
    with pytest.warns(probes_out.IncompleteProbeFileWarning):
        data = nengo_mpi.load_probes(str(out) + ".partial")
    assert not data.complete and data.n_steps > 0
    assert data["spikes"].shape == (data.n_steps, 1000)
    assert len(data.trange("value")) == data.n_steps
    with ModelFile(model, trust=True) as m:
        step = Checkpoint(ck, m).step
    assert step > 0
    proc2, codes, _ = launch(1, model, "--time", 0.01, "--resume", ck, "--out",
                             tmp_path / "q.h5")
    assert codes == [0], proc2.stderr
    assert nengo_mpi.load_probes(tmp_path / "q.h5").start_step == step
