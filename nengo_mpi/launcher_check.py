"""Tell a wrong launcher from a real MPI job, and say so plainly.

An MPI library started by a launcher of another MPI family does not fail: every process
initialises as its own job of one rank (a *singleton*), and N copies of the script run
side by side, each believing it is alone. The classic case is a container image with
Open MPI started by MPICH's ``mpirun`` (Hydra), or by ``srun`` with the wrong ``--mpi``
plugin. Launchers announce the job in the environment of the processes they start, so
comparing what the launcher announced with what MPI reports tells the two apart.

`detect` reads the environment only (no MPI); `explain` compares it with MPI's view and
returns a message, or None when the job is consistent; `check_world` does both with
mpi4py. ``python -m nengo_mpi`` calls them before anything else uses MPI.
"""

import os
from collections import namedtuple

#: What the environment says about the launcher of this process.
#:
#: ``name`` is a readable name, ``family`` the MPI family whose libraries it talks to
#: ("MPICH", "Open MPI") or None when that depends on options (Slurm's ``--mpi``),
#: ``size`` the number of processes it started (None if it does not say), and
#: ``evidence`` the variable that showed it, as ``NAME=value``.
Launcher = namedtuple("Launcher", "name family size evidence")

MPICH = "MPICH"
OPEN_MPI = "Open MPI"

#: How each family's launcher is started, for the advice in messages.
LAUNCH_HINT = {
    MPICH: "MPICH's mpirun/mpiexec (Hydra), or srun --mpi=pmi2",
    OPEN_MPI: "Open MPI's mpirun (PRRTE), or srun --mpi=pmix",
}

#: The image of each family in containers/ (its ``MPI`` build argument).
IMAGE_ARG = {MPICH: "mpich", OPEN_MPI: "openmpi"}

# Substrings of MPI_Get_library_version that identify the ABI family. Intel MPI,
# MVAPICH and Cray MPICH are MPICH derivatives and share its ABI (libmpi.so.12).
_FAMILY_MARKERS = (
    ("Open MPI", OPEN_MPI),
    ("MPICH", MPICH),
    ("Intel(R) MPI", MPICH),
    ("MVAPICH", MPICH),
)


def _count(value):
    """A process count from an environment value, or None if it is not one."""
    return int(value) if value and value.strip().isdigit() else None


def detect(environ=None):
    """The launcher that started this process, from its environment.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default: ``os.environ``).

    Returns
    -------
    Launcher or None
        None when no launcher started this process (a plain ``python`` run, or a batch
        script that did not go through ``srun``).
    """
    env = os.environ if environ is None else environ
    # srun sets SLURM_STEP_NUM_TASKS for the tasks of a job step; a batch script that
    # runs python directly has SLURM_NTASKS from its allocation but is one process.
    step_tasks = _count(env.get("SLURM_STEP_NUM_TASKS"))
    if step_tasks is not None and "SLURM_PROCID" in env:
        return Launcher("Slurm's srun", None, step_tasks, f"SLURM_STEP_NUM_TASKS={step_tasks}")
    if "PMI_RANK" in env or "PMI_SIZE" in env:
        size = _count(env.get("PMI_SIZE"))
        return Launcher("MPICH's launcher (Hydra mpirun/mpiexec, PMI)", MPICH, size,
                        f"PMI_SIZE={env.get('PMI_SIZE', '?')}")
    if "OMPI_COMM_WORLD_SIZE" in env or "OMPI_COMM_WORLD_RANK" in env:
        size = _count(env.get("OMPI_COMM_WORLD_SIZE"))
        return Launcher("Open MPI's mpirun (PRRTE)", OPEN_MPI, size,
                        f"OMPI_COMM_WORLD_SIZE={env.get('OMPI_COMM_WORLD_SIZE', '?')}")
    if "PMIX_RANK" in env:
        # A PMIx launcher that is not Open MPI's (PRRTE standalone, Flux...): it does
        # not put the job size in the environment.
        return Launcher("a PMIx launcher", OPEN_MPI, _count(env.get("PMIX_SIZE")),
                        f"PMIX_RANK={env['PMIX_RANK']}")
    return None


def library_family(library_version):
    """The ABI family ("MPICH" or "Open MPI") of an MPI library, or None if unknown.

    Parameters
    ----------
    library_version : str
        What ``MPI_Get_library_version`` returns.
    """
    for marker, family in _FAMILY_MARKERS:
        if marker.lower() in library_version.lower():
            return family
    return None


def explain(mpi_size, library_version, environ=None):
    """A message if the launcher started more processes than MPI sees, else None.

    Parameters
    ----------
    mpi_size : int
        The size of MPI_COMM_WORLD in this process.
    library_version : str
        ``MPI_Get_library_version`` of this process's MPI library.
    environ : mapping, optional
        The environment to read (default: ``os.environ``).

    Returns
    -------
    str or None
        None for a consistent job, including a legitimate job of one rank
        (``mpirun -np 1``) and a plain run without a launcher.
    """
    launcher = detect(environ)
    if launcher is None or launcher.size is None or launcher.size <= 1 or mpi_size != 1:
        return None
    lines = library_version.strip().splitlines()
    library = lines[0].strip() if lines else "an unknown MPI library"
    family = library_family(library_version)
    message = [
        f"nengo_mpi: wrong launcher. {launcher.name} started {launcher.size} processes "
        f"({launcher.evidence}), but MPI reports a job of 1 in each: every process is "
        f"running alone as its own singleton job, so nothing would be split across ranks.",
        f"This process's MPI library is {library}"
        + (f" ({family} family)." if family else "."),
    ]
    if launcher.family is None:
        message.append(
            "srun must use the process-management interface this library speaks "
            "(--mpi=pmi2 for the MPICH family, --mpi=pmix for Open MPI; `srun --mpi=list` "
            "shows what the cluster offers).")
    elif family is not None and family != launcher.family:
        message.append(
            f"The launcher belongs to the {launcher.family} family and the library to "
            f"{family}: the two cannot talk to each other. Start the job with "
            f"{LAUNCH_HINT[family]}, or use a nengo_mpi build for {launcher.family} (the "
            f"container image built with MPI={IMAGE_ARG[launcher.family]}).")
    else:
        message.append(
            "The launcher and the library do not belong together: start the job with the "
            "mpirun of the MPI that nengo_mpi was built with (for the default install, the "
            "mpirun in the virtual environment's bin directory).")
    return "\n".join(message)


def check_world(environ=None):
    """`explain` for this process's MPI_COMM_WORLD (initialises MPI through mpi4py).

    Returns
    -------
    str or None
        The message, or None when the job is consistent.
    """
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    return explain(MPI.COMM_WORLD.Get_size(), MPI.Get_library_version(), environ)
