"""Wrong-launcher detection (nengo_mpi.launcher_check): environments of real launchers."""

import os
import subprocess
import sys

import pytest

from nengo_mpi import launcher_check

MPICH_LIB = "MPICH Version:      5.0.2\nMPICH Release date: ...\n"
OPEN_MPI_LIB = "Open MPI v5.0.11, package: Open MPI user@localhost Distribution, ident: 5.0.11"
CRAY_LIB = "MPI VERSION    : CRAY MPICH version 8.1.28.2 (ANL base 3.4a2)"
INTEL_LIB = "Intel(R) MPI Library 2021.10 for Linux* OS\n"

HYDRA_2 = {"PMI_RANK": "0", "PMI_SIZE": "2", "PMI_FD": "5", "MPI_LOCALNRANKS": "2"}
OPEN_MPI_2 = {"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0",
              "PMIX_RANK": "0", "PMIX_NAMESPACE": "prterun-vm-1@1"}
SRUN_4 = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4", "SLURM_STEP_ID": "0",
          "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "0"}
BATCH_SCRIPT = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4", "SLURM_NNODES": "1"}


@pytest.mark.parametrize("environ, family, size", [
    (HYDRA_2, "MPICH", 2),
    (OPEN_MPI_2, "Open MPI", 2),
    (SRUN_4, None, 4),
    (dict(SRUN_4, PMI_RANK="0", PMI_SIZE="4"), None, 4),  # srun --mpi=pmi2
    ({"PMIX_RANK": "0", "PMIX_NAMESPACE": "flux"}, "Open MPI", None),
])
def test_detects_each_launcher(environ, family, size):
    launcher = launcher_check.detect(environ)
    assert launcher is not None
    assert (launcher.family, launcher.size) == (family, size)


@pytest.mark.parametrize("environ", [{}, BATCH_SCRIPT])
def test_no_launcher(environ):
    """A plain run, and a batch script inside a Slurm allocation, are not launched jobs."""
    assert launcher_check.detect(environ) is None
    assert launcher_check.explain(1, MPICH_LIB, environ) is None


@pytest.mark.parametrize("library, family", [
    (MPICH_LIB, "MPICH"), (OPEN_MPI_LIB, "Open MPI"), (CRAY_LIB, "MPICH"),
    (INTEL_LIB, "MPICH"), ("MVAPICH2 Version 2.3.7", "MPICH"), ("Some MPI 1.0", None),
])
def test_library_family(library, family):
    assert launcher_check.library_family(library) == family


def test_open_mpi_library_under_hydra():
    """The container case: an Open MPI image started by MPICH's mpirun."""
    message = launcher_check.explain(1, OPEN_MPI_LIB, HYDRA_2)
    assert message.startswith("nengo_mpi: wrong launcher.")
    assert "MPICH's launcher" in message and "PMI_SIZE=2" in message
    assert "Open MPI v5.0.11" in message and "(Open MPI family)" in message
    assert "Open MPI's mpirun" in message and "MPI=mpich" in message


def test_mpich_library_under_open_mpi():
    message = launcher_check.explain(1, MPICH_LIB, OPEN_MPI_2)
    assert "OMPI_COMM_WORLD_SIZE=2" in message and "(MPICH family)" in message
    assert "MPICH's mpirun/mpiexec" in message and "MPI=openmpi" in message


def test_srun_with_the_wrong_plugin():
    message = launcher_check.explain(1, OPEN_MPI_LIB, SRUN_4)
    assert "srun started 4 processes" in message
    assert "--mpi=pmix" in message and "--mpi=pmi2" in message


def test_same_family_unknown_cause():
    """Same family and still singletons (e.g. another MPICH's hydra): generic advice."""
    message = launcher_check.explain(1, MPICH_LIB, HYDRA_2)
    assert "do not belong together" in message


@pytest.mark.parametrize("mpi_size, environ", [
    (2, HYDRA_2),  # a consistent job
    (4, SRUN_4),
    (1, dict(HYDRA_2, PMI_SIZE="1")),  # mpirun -np 1: a real job of one rank
    (1, {"OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"}),
    (1, {"PMIX_RANK": "0"}),  # size not announced: nothing to compare
])
def test_consistent_jobs_pass(mpi_size, environ):
    assert launcher_check.explain(mpi_size, OPEN_MPI_LIB, environ) is None


def test_real_singleton_under_a_fake_launcher(tmp_path):
    """A real MPI process that sees a job of 1 while PMI_SIZE says 2: exit 3, plainly."""
    script = tmp_path / "never.py"
    script.write_text("raise SystemExit('the script must not run')\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "SLURM_"))}
    env.update(PMI_SIZE="2", PMI_RANK="0")
    proc = subprocess.run([sys.executable, "-m", "nengo_mpi", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("nengo_mpi: wrong launcher.")
    assert "PMI_SIZE=2" in proc.stderr


def test_plain_run_inside_a_batch_allocation(tmp_path):
    """SLURM_NTASKS of the allocation alone does not make a script an MPI job."""
    script = tmp_path / "hello.py"
    script.write_text("print('ran')\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "SLURM_"))}
    env.update(BATCH_SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "nengo_mpi", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ran\n"


def test_session_start_refuses_a_singleton_of_a_launched_job():
    """Programs that start a session themselves get the same check as the CLI."""
    from nengo_mpi.runtime import session  # pylint: disable=import-outside-toplevel

    env = {"PMI_RANK": "0", "PMI_SIZE": "2"}
    with pytest.raises(session.LaunchError, match="wrong launcher"):
        session.check_launch(1, "Open MPI v5.0.11", env)
    session.check_launch(2, "Open MPI v5.0.11", env)  # a consistent job
    session.check_launch(1, "MPICH Version: 5.0.2", {})  # no launcher
