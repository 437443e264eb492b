"""What nengo_mpi's HDF5 files are: kinds, versions, and checksummed datasets.

Three kinds of file share these conventions:

- a *model file* (`nengo_mpi.save`): the partitioned, lowered model;
- a *probe file* (``python -m nengo_mpi run ... --out``, ``Simulator(probe_file=...)``);
- a *checkpoint* (``--checkpoint``): the engine state at one step.

Every file's root carries the attributes ``format`` (which kind) and
``format_version``; a reader refuses a kind or version it does not know. Every dataset
nengo_mpi writes carries a CRC-32 of its bytes (attribute ``crc32``), which readers
check, so a flipped bit inside data is an error rather than a wrong number.

Writers write to a temporary name in the same directory and rename on success, so a
file under its final name is always complete.
"""

import os
import zlib

import h5py

from .errors import FileFormatError  # noqa: F401 (re-exported)
import numpy as np

MODEL_FORMAT = "nengo_mpi model"
PROBES_FORMAT = "nengo_mpi probes"
CHECKPOINT_FORMAT = "nengo_mpi checkpoint"
#: A file of some of a model file's components, written by one rank in a parallel save
#: and reached through links from the model file (never opened on its own).
MODEL_PART_FORMAT = "nengo_mpi model part"

#: Version of each kind of file this code writes; readers accept exactly these. Model
#: files (and their parts) are at 2 since they name their Python parts readably
#: (``python_parts``), which the trust check needs before it unpickles anything.
FORMAT_VERSIONS = {MODEL_FORMAT: 2, PROBES_FORMAT: 1, CHECKPOINT_FORMAT: 1,
                   MODEL_PART_FORMAT: 2}


#: What h5py raises on damaged structures (object headers, B-trees, datatypes).
H5_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError)


def damaged(where, error):
    """The `FileFormatError` for an h5py error met while reading ``where``."""
    return FileFormatError(
        f"{where}: the file is damaged ({type(error).__name__}: {error})")


def temporary_name(path):
    """The name a file is written under until it is complete."""
    return f"{path}.partial"


def check_writable(path):
    """Raise `FileFormatError` unless ``path`` (and its temporary name) can be created.

    Creates and removes the temporary file, so that a run learns of an unwritable output
    before it starts rather than after hours of simulation.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise FileFormatError(f"cannot write {path!r}: it is a directory")
    tmp = temporary_name(path)
    try:
        with open(tmp, "ab"):
            pass
        os.remove(tmp)
    except OSError as e:
        raise FileFormatError(f"cannot write {path!r}: {e.strerror or e}") from None


def open_read(path, kind, locking=None):
    """Open a nengo_mpi file of the given kind for reading, checking kind and version.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    kind : str
        One of `MODEL_FORMAT`, `PROBES_FORMAT`, `CHECKPOINT_FORMAT`.
    locking : bool, optional
        HDF5 file locking (default: HDF5's own default).

    Returns
    -------
    h5py.File

    Raises
    ------
    FileFormatError
        If the file is missing, not HDF5 (e.g. truncated or corrupted), of another kind,
        or of a format version this code does not read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileFormatError(f"{kind} file {path!r} does not exist")
    try:
        f = h5py.File(path, "r", locking=locking)
    except OSError as e:
        raise FileFormatError(
            f"{path!r} is not a readable HDF5 file (truncated or corrupted?): {e}"
        ) from None
    try:
        found = _attr_str(f.attrs.get("format"))
        if found != kind:
            raise FileFormatError(
                f"{path!r} is not a {kind} file"
                + (f" (it is a {found} file)" if found else " (no 'format' attribute)")
            )
        version = f.attrs.get("format_version")
        if version is None or int(version) != FORMAT_VERSIONS[kind]:
            raise FileFormatError(
                f"{path!r} has {kind} format version {version}, but this nengo_mpi "
                f"reads version {FORMAT_VERSIONS[kind]} only"
            )
    except BaseException:
        f.close()
        raise
    return f


def stamp(f, kind):
    """Mark an open, new file as ``kind`` at the current format version."""
    f.attrs["format"] = kind
    f.attrs["format_version"] = FORMAT_VERSIONS[kind]


def _attr_str(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def crc32(array):
    """CRC-32 of an array's bytes (strings: of their UTF-8 encodings, in order)."""
    if array.dtype.kind == "O":
        crc = 0
        for s in array.reshape(-1):
            crc = zlib.crc32(s.encode("utf-8") if isinstance(s, str) else bytes(s), crc)
        return crc
    return zlib.crc32(np.ascontiguousarray(array).view(np.uint8).reshape(-1))


STR = h5py.string_dtype("utf-8")


def write(group, name, data, dtype=None, strings=False):
    """Create dataset ``name`` in ``group`` holding ``data``, with its CRC-32.

    With ``strings=True``, ``data`` is a sequence of str stored as variable-length UTF-8.
    """
    if strings:
        array = np.empty(len(data), dtype=object)
        array[:] = list(data)
        ds = group.create_dataset(name, data=array, dtype=STR)
    else:
        array = np.asarray(data, dtype=dtype)
        ds = group.create_dataset(name, data=array)
    ds.attrs["crc32"] = np.uint32(crc32(array))
    return ds


def read(group, name, where=""):
    """Read dataset ``name`` of ``group`` whole, checking its CRC-32.

    Raises
    ------
    FileFormatError
        If the dataset is missing or its bytes do not match its checksum.
    """
    path = f"{group.name.rstrip('/')}/{name}"
    where = where or repr(group.file.filename)
    if name not in group:
        raise FileFormatError(f"{where} has no dataset {path}")
    try:
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise TypeError(f"{path} is not a dataset")
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            array = np.asarray(ds.asstr()[()], dtype=object)
        else:
            array = ds[()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise FileFormatError(
            f"{where}: cannot read {path} (corrupted?): {e}"
        ) from None
    expected = ds.attrs.get("crc32")
    if expected is not None and int(expected) != crc32(np.asarray(array)):
        raise FileFormatError(
            f"{where}: {path} is corrupted (checksum mismatch)"
        )
    return array


def replace_atomically(tmp, path):
    """Give the finished file ``tmp`` its final name ``path`` (atomic on POSIX)."""
    os.replace(tmp, path)
