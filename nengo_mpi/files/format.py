"""What nengo_mpi's HDF5 files are: kinds, versions, and checksummed datasets.

Three kinds of file share these conventions:

- a *model file* (`nengo_mpi.save`): the partitioned, lowered model;
- a *probe file* (``python -m nengo_mpi run ... --out``, ``Simulator(probe_file=...)``);
- a *checkpoint* (``--checkpoint``): the engine state at one step.

Every file's root carries the attributes ``format`` (which kind) and
``format_version``; a reader refuses a kind or version it does not know. Every dataset
nengo_mpi writes carries a CRC-32 of its bytes (attribute ``crc32``), which readers
check, so a flipped bit inside data is an error rather than a wrong number.

Model files (and their parts) and checkpoints are also *sealed*: the first
`USERBLOCK` bytes (an HDF5 user block, which HDF5 itself ignores) hold the SHA-256 of
the rest of the file, and readers check it before HDF5 parses a byte of it. A damaged
file (a flipped bit in HDF5's own structures, a truncation) is then an error naming the
file, rather than whatever libhdf5 makes of it: found by the fuzz campaign, libhdf5 can
hang or fail oddly on damaged structures. A seal does not make a crafted file safe (whoever
crafts one can compute it); what is read from a file is checked field by field
(`.validate`). Probe files are not sealed: they grow block by block during a run.

Writers write to a temporary name in the same directory and rename on success, so a
file under its final name is always complete.
"""

import contextlib
import hashlib
import os
import zlib

import h5py

import numpy as np

from . import schema
from .errors import FileFormatError  # noqa: F401 (re-exported)

MODEL_FORMAT = "nengo_mpi model"
PROBES_FORMAT = "nengo_mpi probes"
CHECKPOINT_FORMAT = "nengo_mpi checkpoint"
#: A file of some of a model file's components, written by one rank in a parallel save
#: and reached through links from the model file (never opened on its own).
MODEL_PART_FORMAT = "nengo_mpi model part"

#: Version of each kind of file this code writes; readers accept exactly these. At 2,
#: model files (and their parts) name their Python parts readably (``python_parts``,
#: which the trust check needs before it unpickles anything), and model files and
#: checkpoints are sealed.
FORMAT_VERSIONS = {MODEL_FORMAT: 2, PROBES_FORMAT: 1, CHECKPOINT_FORMAT: 2,
                   MODEL_PART_FORMAT: 2}
#: The kinds of file that are sealed.
SEALED = (MODEL_FORMAT, MODEL_PART_FORMAT, CHECKPOINT_FORMAT)
#: Bytes of the HDF5 user block that holds a seal (HDF5's smallest).
USERBLOCK = 512
#: How a seal begins.
SEAL_PREFIX = b"nengo_mpi sha256 "


#: What h5py raises on damaged structures (object headers, B-trees, datatypes).
H5_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError)


def damaged(where, error):
    """The `FileFormatError` for an h5py error met while reading ``where``."""
    return FileFormatError(
        f"{where}: the file is damaged ({type(error).__name__}: {error})")


@contextlib.contextmanager
def reading(where):
    """Within it, an error h5py raises on a damaged structure becomes `damaged`'s
    `FileFormatError` naming ``where``; a `FileFormatError` passes unchanged."""
    try:
        yield
    except FileFormatError:
        raise
    except H5_ERRORS as e:
        raise damaged(where, e) from None


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


def open_read(path, kind, locking=None, check_seal=True):
    """Open a nengo_mpi file of the given kind for reading, checking its seal (`verify`,
    for sealed kinds), kind and version.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    kind : str
        One of `MODEL_FORMAT`, `PROBES_FORMAT`, `CHECKPOINT_FORMAT`.
    locking : bool, optional
        HDF5 file locking (default: HDF5's own default).
    check_seal : bool, optional
        False when the seal was checked already (by rank 0, for every rank).

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
    if check_seal and kind in SEALED:
        verify(path)
    try:
        f = h5py.File(path, "r", locking=locking)
    except OSError as e:
        raise FileFormatError(
            f"{path!r} is not a readable HDF5 file (truncated or corrupted?): {e}"
        ) from None
    try:
        with reading(repr(path)):
            found = _attr_str(f.attrs.get("format"))
            if found != kind:
                raise FileFormatError(
                    f"{path!r} is not a {kind} file"
                    + (f" (it is a {found} file)" if found else " (no 'format' attribute)")
                )
            version = f.attrs.get("format_version")
            if not (np.ndim(version) == 0 and np.asarray(version).dtype.kind in "iu"
                    and int(version) == FORMAT_VERSIONS[kind]):
                raise FileFormatError(
                    f"{path!r} has {kind} format version {version}, but this nengo_mpi "
                    f"reads version {FORMAT_VERSIONS[kind]} only"
                )
    except BaseException:
        f.close()
        raise
    return f


def create(path, kind):
    """A new, empty HDF5 file of ``kind`` at ``path`` (with room for a seal if the kind
    is sealed); `seal` it once it is closed."""
    f = h5py.File(path, "w", userblock_size=USERBLOCK if kind in SEALED else 0)
    stamp(f, kind)
    return f


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(USERBLOCK)
        while True:
            chunk = f.read(8 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest().encode()


def seal(path):
    """Write the SHA-256 of a closed file's HDF5 bytes into its user block."""
    digest = _digest(path)
    with open(path, "r+b") as f:
        f.write((SEAL_PREFIX + digest + b"\n").ljust(USERBLOCK, b"\0"))


def verify(path):
    """Raise `FileFormatError` unless ``path`` holds a seal matching its contents.

    Reads the whole file once (SHA-256: 1.7 s per GB here), before HDF5 opens it.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            block = f.read(USERBLOCK)
    except OSError as e:
        raise FileFormatError(f"cannot read {path!r}: {e.strerror or e}") from None
    if not block.startswith(SEAL_PREFIX) or size <= USERBLOCK:
        raise FileFormatError(
            f"{path!r} is not a sealed nengo_mpi file (truncated, damaged, or written by "
            "another program or an older nengo_mpi)")
    expected = block[len(SEAL_PREFIX):len(SEAL_PREFIX) + 64]
    if _digest(path) != expected:
        raise FileFormatError(
            f"{path!r} is damaged: its contents do not match its SHA-256 seal (changed "
            "after it was written, truncated, or corrupted in a copy)")


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


def check_dataset(ds, where, dtype=None):
    """Raise `FileFormatError` unless ``ds`` has ``dtype`` (`.schema`; None: any) and
    stores the bytes its shape declares.

    A dataset can declare any shape while storing almost nothing (chunks never written
    read as the fill value): reading it would allocate what the shape says. Data
    nengo_mpi writes is stored whole, so a dataset that stores less than its shape is
    refused before it is read, and no read allocates more than the file holds.
    """
    path = ds.name
    if dtype is not None:
        is_string = h5py.check_string_dtype(ds.dtype) is not None
        if dtype == schema.STRING:
            if not is_string:
                raise FileFormatError(
                    f"{where}: {path} holds {ds.dtype}, expected strings")
        elif is_string or ds.dtype != dtype:
            raise FileFormatError(
                f"{where}: {path} holds {_dtype_name(ds.dtype)}, expected "
                f"{_dtype_name(dtype)}")
    if ds.shape is None:
        raise FileFormatError(f"{where}: {path} has no shape (an empty dataspace)")
    if dtype is not None and len(ds.shape) != 1:
        raise FileFormatError(f"{where}: {path} has shape {ds.shape}, expected a "
                              "one-dimensional dataset")
    declared = ds.size * ds.dtype.itemsize
    if declared and ds.id.get_storage_size() < declared:
        raise FileFormatError(
            f"{where}: {path} declares shape {ds.shape} ({declared} bytes) but stores "
            f"{ds.id.get_storage_size()} bytes")


def _dtype_name(dtype):
    return "a compound of " + ", ".join(dtype.names) if dtype.names else str(dtype)


def read(group, name, where="", dtype=None):
    """Read dataset ``name`` of ``group`` whole, checking its dtype, size and CRC-32.

    Parameters
    ----------
    group : h5py.Group
    name : str
    where : str, optional
        Names the file (and part of it) in error messages.
    dtype : numpy.dtype or str, optional
        The dtype the dataset must have (`.schema`; `.schema.STRING` for strings).

    Raises
    ------
    FileFormatError
        If the dataset is missing, of another dtype, stores less than its shape
        declares, or its bytes do not match its checksum.
    """
    path = f"{group.name.rstrip('/')}/{name}"
    where = where or repr(group.file.filename)
    if name not in group:
        raise FileFormatError(f"{where} has no dataset {path}")
    try:
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise TypeError(f"{path} is not a dataset")
        check_dataset(ds, where, dtype)
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            array = np.asarray(ds.asstr()[()], dtype=object)
        else:
            array = ds[()]
    except FileFormatError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise FileFormatError(
            f"{where}: cannot read {path} (corrupted?): {e}"
        ) from None
    # Every dataset nengo_mpi writes with `write` has one: a missing checksum is damage.
    try:
        expected = int(ds.attrs["crc32"])
    except (TypeError, ValueError, OSError, KeyError) as e:
        raise FileFormatError(f"{where}: {path} has no readable checksum ({e})") from None
    if expected != crc32(np.asarray(array)):
        raise FileFormatError(
            f"{where}: {path} is corrupted (checksum mismatch)"
        )
    return array


def replace_atomically(tmp, path):
    """Give the finished file ``tmp`` its final name ``path`` (atomic on POSIX)."""
    os.replace(tmp, path)
