"""Which model files may run the Python code they carry.

A model file is data, with one exception: the Python parts of a model (Node functions,
Direct-mode functions, neuron types, processes and learning rules the engine has no
kernel for, and any engine-call argument of another type) travel as cloudpickle bytes,
and unpickling runs code. So, as ``numpy.load(allow_pickle=False)`` and
``torch.load(weights_only=True)`` do, a reader loads no pickled object unless told to.
Unlike them, it refuses the whole file up front rather than failing halfway: a model
without its Node functions cannot run, and the refusal comes before any rank steps,
naming every Python part so the user can judge the file. A file without Python parts
needs no trust; checkpoints and probe files never hold pickled objects.

A file is trusted through ``--trust`` (``python -m nengo_mpi run``), ``trust=True``
(`nengo_mpi.run_file`), or the environment variable ``NENGO_MPI_TRUST_FILES=1`` (batch
jobs, where editing the command line of every rank is awkward). An explicit argument
wins over the environment.
"""

import os

from .errors import UntrustedFileError

#: The environment variable that trusts every model file a job loads.
TRUST_ENV = "NENGO_MPI_TRUST_FILES"

_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")
#: Parts listed by name in a refusal; the rest are counted.
MAX_LISTED = 20


def trusted(trust=None):
    """Whether to load Python parts: ``trust`` if given, else `TRUST_ENV`.

    Parameters
    ----------
    trust : bool or None
        The caller's decision (None: the environment decides; unset means no).

    Raises
    ------
    ValueError
        If `TRUST_ENV` holds something other than a yes or a no.
    """
    if trust is not None:
        return bool(trust)
    value = os.environ.get(TRUST_ENV, "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"environment variable {TRUST_ENV}={os.environ[TRUST_ENV]!r}: use "
                     f"1 to trust model files with Python parts, or 0 (or unset) not to")


def refusal(path, parts):
    """The `UntrustedFileError` for the model file ``path`` with these Python parts.

    Parameters
    ----------
    path : str
        The model file.
    parts : list of str
        One line per Python part (``"component 0: <Node 'stim'>: __main__.f"``).
    """
    listed = [f"  {p}" for p in parts[:MAX_LISTED]]
    if len(parts) > MAX_LISTED:
        listed.append(f"  ... and {len(parts) - MAX_LISTED} more")
    return UntrustedFileError(
        f"{path!r} carries Python code, which loading the file would run:\n"
        + "\n".join(listed)
        + "\nnengo_mpi loads Python parts only from files you trust (you made the "
        "file, or trust who did). To allow this file, use one of:\n"
        f"  python -m nengo_mpi run {path} --trust ...\n"
        f"  nengo_mpi.run_file({path!r}, ..., trust=True)\n"
        f"  {TRUST_ENV}=1 in the environment (e.g. in a batch script)"
    )


def require_trust(trusted_, where, what):
    """Raise `UntrustedFileError` unless ``trusted_``: the last guard before an unpickle
    (the file was checked as a whole when it was opened)."""
    if not trusted_:
        raise UntrustedFileError(f"{where}: refusing to unpickle {what} from a file "
                                 "that is not trusted")

