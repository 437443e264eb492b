"""Mutations of an HDF5 file: each makes one damaged or crafted copy of a seed file.

Two families:

- *raw* mutations edit the bytes (bit flips, truncation), as a disk, a network or a
  careless copy would;
- *crafted* mutations edit the HDF5 objects through h5py and, as an attacker would,
  recompute the dataset's CRC-32 (most of the time), so that only validation can tell:
  forged values (huge counts, negative strides, NaN, out-of-range ids), forged shapes,
  swapped datasets, wrong dtypes, deleted objects, forged attributes, datasets whose
  declared shape is far larger than the bytes behind them, and renamed engine calls.

Crafted mutations of a sealed file (a model file or a checkpoint) also recompute its
seal, the SHA-256 of the whole file (`nengo_mpi.files.format.seal`), as an attacker
would; raw ones do not, as a disk would not.

Every mutation is a function ``(path, rng) -> description`` that edits ``path`` in
place (a copy of the seed) and says what it did; `MUTATIONS` lists them with weights.
"""

import os

import h5py
import numpy as np

from nengo_mpi.files import format as file_format
from nengo_mpi.files.format import crc32

INT_VALUES = [0, 1, -1, 2, 3, 7, 255, 2**15 - 1, 2**31 - 1, 2**31, -2**31, 2**32,
              2**53, 2**62, 2**63 - 1, -2**63, -2**62]
FLOAT_VALUES = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300,
                5e-324, 2.0**63, -(2.0**63)]
#: Names of engine methods that are not kernels: a call renamed to one must be refused.
ENGINE_NAMES = ["__init__", "__del__", "close", "run_steps", "add_view", "buffer",
                "set_steps", "settle", "set_rng_state", "add_lif", "add_copy",
                "add_sim_pes", "add_time_table", "nonexistent_method", ""]
DTYPE_TOKENS = ["a<f8", "a<O", "a|V8", "a>f8", "a<M8", "a<U4", "g<f8", "g|b1", "a<i8",
                "p", "li", "(", ")", "zz", "a", "g"]


# -- what a file holds ----------------------------------------------------------------

def datasets(f):
    """Every dataset of an open file, as ``[(name, dataset)]``."""
    found = []
    f.visititems(lambda name, obj: found.append((name, obj))
                 if isinstance(obj, h5py.Dataset) else None)
    return found


def attributes(f):
    """Every attribute of an open file other than CRCs, as ``[(object name, key)]``."""
    found = [("/", k) for k in f.attrs]

    def visit(name, obj):
        found.extend((name, k) for k in obj.attrs if k != "crc32")

    f.visititems(visit)
    return found


def read_any(ds):
    """A dataset's values, strings decoded."""
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.asarray(ds.asstr()[()], dtype=object)
    return ds[()]


def replace(group, name, data, attrs, recompute=True, **kwargs):
    """Replace dataset ``name`` of ``group`` by ``data`` (its attributes kept, its CRC
    recomputed unless ``recompute`` is false)."""
    del group[name]
    if isinstance(data, np.ndarray) and data.dtype.kind == "O":
        ds = group.create_dataset(name, data=data, dtype=h5py.string_dtype("utf-8"),
                                  **kwargs)
    else:
        ds = group.create_dataset(name, data=data, **kwargs)
    for k, v in attrs.items():
        ds.attrs[k] = v
    if recompute and "crc32" in attrs:
        ds.attrs["crc32"] = np.uint32(crc32(np.asarray(data)))
    return ds


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _interesting(rng, dtype, old):
    """A value of ``dtype`` (a numpy scalar dtype) a crafted file might hold instead
    of ``old``."""
    kind = dtype.kind
    if kind == "b":
        return not bool(old)
    if kind in "iu":
        choice = rng.integers(4)
        if choice == 0:
            value = int(old) + int(rng.choice([-2, -1, 1, 2]))
        elif choice == 1:
            value = int(old) * int(rng.choice([-1, 2, 1000, 2**20]))
        elif choice == 2:
            value = int(rng.integers(-1000, 1000))
        else:
            value = _pick(rng, INT_VALUES)
        info = np.iinfo(dtype)
        # Out of the dtype's range, the value wraps as a C cast would.
        return dtype.type((value - info.min) % (info.max - info.min + 1) + info.min)
    if kind == "f":
        if rng.integers(3) == 0:
            return dtype.type(float(old) * float(rng.choice([-1.0, 0.5, 2.0, 1e6])))
        return dtype.type(_pick(rng, FLOAT_VALUES))
    if kind == "c":
        return dtype.type(_pick(rng, FLOAT_VALUES))
    return old


def _string(rng, old, all_strings):
    choice = rng.integers(6)
    if choice == 0:
        return ""
    if choice == 1:
        return "x" * int(rng.choice([1, 100, 100_000]))
    if choice == 2 and all_strings:
        return str(_pick(rng, all_strings))
    if choice == 3:
        return _pick(rng, ENGINE_NAMES)
    if choice == 4:
        tokens = str(old).split() or ["i"]
        tokens[int(rng.integers(len(tokens)))] = _pick(rng, DTYPE_TOKENS)
        return " ".join(tokens)
    return str(old) + "\u00e9"


# -- raw mutations ---------------------------------------------------------------------

def bit_flips(path, rng):
    """Flip 1 to 8 random bits anywhere in the file."""
    data = bytearray(open(path, "rb").read())
    n = int(rng.integers(1, 9))
    where = rng.integers(0, len(data) * 8, size=n)
    for bit in where:
        data[bit // 8] ^= 1 << (bit % 8)
    with open(path, "wb") as f:
        f.write(data)
    return f"bit flips at bits {sorted(int(b) for b in where)}"


def truncate(path, rng):
    """Cut the file at a random length."""
    size = os.path.getsize(path)
    keep = int(rng.integers(0, size))
    with open(path, "r+b") as f:
        f.truncate(keep)
    return f"truncated to {keep} of {size} bytes"


def data_bit_flips(path, rng):
    """Flip bits inside one dataset's stored bytes and recompute its CRC: a changed
    value that passes the checksum."""
    with h5py.File(path, "r+") as f:
        candidates = [(n, d) for n, d in datasets(f) if d.id.get_offset() is not None
                      and d.id.get_storage_size() > 0 and d.dtype.kind != "O"
                      and h5py.check_string_dtype(d.dtype) is None]
        if not candidates:
            return "no contiguous dataset (unchanged)"
        name, ds = _pick(rng, candidates)
        raw = np.ascontiguousarray(ds[()])
        flat = raw.view(np.uint8).reshape(-1)
        bits = rng.integers(0, flat.size * 8, size=int(rng.integers(1, 5)))
        for bit in bits:
            flat[bit // 8] ^= np.uint8(1 << (bit % 8))
        ds[...] = raw
        if "crc32" in ds.attrs:
            ds.attrs["crc32"] = np.uint32(crc32(raw))
    return f"bits {sorted(int(b) for b in bits)} of /{name} flipped, CRC recomputed"


# -- crafted mutations -----------------------------------------------------------------

def forge_value(path, rng, only=None):
    """Set one element (or field) of a dataset to an interesting value. ``only``
    restricts the choice to datasets whose name ends with one of its entries."""
    with h5py.File(path, "r+") as f:
        candidates = [(n, d) for n, d in datasets(f) if d.size > 0 and (
            only is None or any(n.endswith(o) for o in only))]
        if not candidates:
            return "no candidate dataset (unchanged)"
        name, ds = _pick(rng, candidates)
        data = np.array(read_any(ds))
        attrs = dict(ds.attrs)
        flat = data.reshape(-1)
        i = int(rng.integers(flat.size))
        if data.dtype.names:
            field = _pick(rng, list(data.dtype.names))
            sub = flat[i][field]
            if np.ndim(sub):
                j = int(rng.integers(np.size(sub)))
                cell = np.array(sub).reshape(-1)
                cell[j] = _interesting(rng, cell.dtype, cell[j])
                flat[i][field] = cell.reshape(np.shape(sub))
                what = f"{field}[{j}] of row {i}"
            else:
                flat[i][field] = _interesting(rng, data.dtype[field], sub)
                what = f"{field} of row {i}"
        elif data.dtype.kind == "O":
            flat[i] = _string(rng, flat[i], list(flat))
            what = f"string {i}"
        else:
            flat[i] = _interesting(rng, data.dtype, flat[i])
            what = f"element {i}"
        recompute = rng.random() < 0.9
        replace(ds.parent, ds.name.rsplit("/", 1)[1], data, attrs, recompute)
    return f"/{name}: {what} forged" + ("" if recompute else " (CRC left stale)")


def negative_strides(path, rng):
    """Forge a view's stride (negative, huge) or offset: views must stay in bounds."""
    return forge_value(path, rng, only=("views",))


def huge_counts(path, rng):
    """Forge a count: a list length or array shape in an op's ``dim`` pool, a probe's
    ``ndim`` or shape, a setup op index, a checkpoint's generator table."""
    return forge_value(path, rng, only=("dim", "ndim", "shape", "setup/op", "kind",
                                        "seed_slot", "order", "rng", "channels"))


def forge_shape(path, rng):
    """Give a dataset another length (shorter, empty, or longer by repetition)."""
    with h5py.File(path, "r+") as f:
        name, ds = _pick(rng, datasets(f))
        data = np.array(read_any(ds)).reshape(-1)
        attrs = dict(ds.attrs)
        n = data.size
        new = int(_pick(rng, [0, 1, max(n - 1, 0), n // 2, n + 1, 2 * n, 7 * n + 3]))
        forged = np.resize(data, new) if n else np.zeros(new, dtype=data.dtype)
        if forged.dtype.kind == "O" and n == 0:
            forged = np.array([""] * new, dtype=object)
        replace(ds.parent, ds.name.rsplit("/", 1)[1], forged, attrs)
    return f"/{name}: {n} elements -> {new}, CRC recomputed"


def huge_declared_shape(path, rng):
    """Replace a dataset by one that declares a huge shape but stores almost nothing
    (chunked, only the fill value): reading it naively would allocate the shape."""
    with h5py.File(path, "r+") as f:
        name, ds = _pick(rng, [(n, d) for n, d in datasets(f)
                               if h5py.check_string_dtype(d.dtype) is None])
        attrs = dict(ds.attrs)
        dtype = ds.dtype
        length = int(_pick(rng, [2**31, 2**36, 2**40]))
        parent, key = ds.parent, ds.name.rsplit("/", 1)[1]
        del parent[key]
        forged = parent.create_dataset(key, shape=(length,), dtype=dtype,
                                       chunks=(1024,), maxshape=(None,))
        for k, v in attrs.items():
            forged.attrs[k] = v
    return f"/{name}: declared shape ({length},) with no data behind it"


def swap_datasets(path, rng):
    """Swap two datasets (with their CRCs): each is intact, but in the other's place."""
    with h5py.File(path, "r+") as f:
        return _swap_any(f, rng)


def swap_same_name(path, rng):
    """Swap one dataset between two components (``components/0/buffer`` with
    ``components/1/buffer``): the likeliest swap to pass a shallow check."""
    with h5py.File(path, "r+") as f:
        if "components" not in f or len(f["components"]) < 2:
            return _swap_any(f, rng)
        names = [n for n, _ in datasets(f["components/0"])]
        name = _pick(rng, names)
        g0, g1 = f["components/0"], f["components/1"]
        if name not in g1:
            return f"components/1 has no {name} (unchanged)"
        d0, d1 = g0[name], g1[name]
        v0, v1 = np.array(read_any(d0)), np.array(read_any(d1))
        a0, a1 = dict(d0.attrs), dict(d1.attrs)
        replace(d0.parent, d0.name.rsplit("/", 1)[1], v1, a1, recompute=False)
        replace(d1.parent, d1.name.rsplit("/", 1)[1], v0, a0, recompute=False)
    return f"{name} of components 0 and 1 swapped"


def _swap_any(f, rng):
    items = datasets(f)
    (a, da), (b, db) = (items[i] for i in rng.choice(len(items), 2, replace=False))
    va, vb = np.array(read_any(da)), np.array(read_any(db))
    aa, ab = dict(da.attrs), dict(db.attrs)
    replace(da.parent, da.name.rsplit("/", 1)[1], vb, ab, recompute=False)
    replace(db.parent, db.name.rsplit("/", 1)[1], va, aa, recompute=False)
    return f"/{a} and /{b} swapped"


WRONG_DTYPES = ["<f4", "<f8", "<i8", "<i4", "|u1", "|i1", "<u8", "|b1", "<c16", "S8"]


def wrong_dtype(path, rng):
    """Store a dataset in another dtype (CRC recomputed)."""
    with h5py.File(path, "r+") as f:
        name, ds = _pick(rng, datasets(f))
        data = np.array(read_any(ds))
        attrs = dict(ds.attrs)
        target = np.dtype(_pick(rng, WRONG_DTYPES))
        try:
            if data.dtype.names:
                forged = data.view(np.uint8).reshape(-1)[: data.size * 4].copy()
                forged = forged.astype(target) if target.kind != "S" else forged
            elif data.dtype.kind == "O":
                forged = np.arange(data.size).astype(target)
            else:
                with np.errstate(all="ignore"):
                    forged = data.astype(target)
        except (ValueError, TypeError):
            forged = np.zeros(data.shape, dtype=target)
        replace(ds.parent, ds.name.rsplit("/", 1)[1], forged, attrs)
    return f"/{name}: {data.dtype} -> {forged.dtype}, CRC recomputed"


def delete_object(path, rng):
    """Delete a dataset, a group or an attribute."""
    with h5py.File(path, "r+") as f:
        objects = []
        f.visit(objects.append)
        choice = rng.integers(3)
        if choice == 0 or not objects:
            obj, key = _pick(rng, attributes(f))
            del f[obj].attrs[key]
            return f"attribute {key} of {obj} deleted"
        name = _pick(rng, objects)
        if name not in f:
            return f"/{name} already gone (unchanged)"
        del f[name]
    return f"/{name} deleted"


def forge_attribute(path, rng):
    """Set an attribute to an interesting value, or to a value of the wrong type."""
    with h5py.File(path, "r+") as f:
        obj, key = _pick(rng, attributes(f))
        old = f[obj].attrs[key]
        choice = rng.integers(5)
        if choice == 0:
            new = _pick(rng, ["", "x", "nengo_mpi model", "1e400", "nan"])
        elif choice == 1:
            new = np.arange(3)
        elif choice == 2:
            new = _pick(rng, FLOAT_VALUES)
        elif choice == 3:
            new = _pick(rng, INT_VALUES)
        else:
            arr = np.asarray(old)
            new = (_interesting(rng, arr.dtype, arr.reshape(-1)[0])
                   if arr.dtype.kind in "biuf" and arr.size else "")
        try:
            f[obj].attrs[key] = new
        except (TypeError, ValueError, OverflowError):
            f[obj].attrs[key] = str(new)
    return f"attribute {key} of {obj}: {old!r} -> {new!r}"


def rename_call(path, rng):
    """Rename an engine call (``kinds/method``), change its argument types
    (``kinds/signature``), or forge another string, CRC recomputed."""
    return forge_value(path, rng, only=("kinds/method", "kinds/signature", "label",
                                        "str", "python_parts"))


#: ``(name, function, weight)``: how often each mutation is drawn.
MUTATIONS = [
    ("bit flips", bit_flips, 3),
    ("truncation", truncate, 1),
    ("data bit flips, CRC recomputed", data_bit_flips, 3),
    ("forged value", forge_value, 4),
    ("negative or huge strides", negative_strides, 2),
    ("huge counts", huge_counts, 3),
    ("forged shape", forge_shape, 2),
    ("huge declared shape", huge_declared_shape, 1),
    ("swapped datasets", swap_datasets, 1),
    ("same dataset of two components swapped", swap_same_name, 1),
    ("wrong dtype", wrong_dtype, 2),
    ("deleted object", delete_object, 1),
    ("forged attribute", forge_attribute, 2),
    ("renamed call or argument types", rename_call, 2),
]


#: Mutations of the bytes, which leave a seal as it was.
RAW = (bit_flips, truncate)


def resealed(mutation):
    """``mutation``, then the file's seal recomputed if it had one."""
    def crafted(path, rng):
        with open(path, "rb") as f:
            sealed = f.read(len(file_format.SEAL_PREFIX)) == file_format.SEAL_PREFIX
        description = mutation(path, rng)
        if sealed:
            file_format.seal(path)
        return description
    return crafted


def draw(rng):
    """A mutation ``(name, function)``, drawn by weight (crafted ones re-seal)."""
    weights = np.array([w for _, _, w in MUTATIONS], dtype=float)
    i = int(rng.choice(len(MUTATIONS), p=weights / weights.sum()))
    name, mutation, _ = MUTATIONS[i]
    return name, mutation if mutation in RAW else resealed(mutation)
