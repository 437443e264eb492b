"""Checks on the values read from a file, before anything uses them.

Every check raises `FileFormatError` naming the file (``where``), the field and the
value. Bounds arithmetic is done on Python integers, which do not overflow, so a forged
size or stride cannot wrap around a bound. Dtypes and sizes of whole datasets are
checked when they are read (`.format.read`, `.schema`).
"""

import math

import numpy as np

from ..lower.layout import CODE_DTYPES
from .errors import FileFormatError
from .schema import MAX_DIMS, MAX_ORDER, MAX_TAG


def attr(attrs, key, kind, where, low=None, high=None):
    """Attribute ``key`` as a Python value of ``kind`` (int, float, str or bool),
    within ``[low, high]`` for numbers.

    Raises
    ------
    FileFormatError
        If it is missing, not a scalar of that kind, not finite, or out of range.
    """
    try:
        raw = attrs[key]
    except (KeyError, OSError):
        raise FileFormatError(f"{where} lacks the attribute {key!r}") from None
    except (TypeError, ValueError) as e:
        raise FileFormatError(f"{where}: attribute {key!r} is unreadable ({e})") from None
    value = _scalar(raw, kind)
    if value is None:
        raise FileFormatError(f"{where}: attribute {key!r} is {raw!r}, expected "
                              f"{'a string' if kind is str else f'one {kind.__name__}'}")
    if kind is float and not math.isfinite(value):
        raise FileFormatError(f"{where}: attribute {key!r} is {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise FileFormatError(f"{where}: attribute {key!r} is {value}, outside "
                              f"[{low}, {high}]")
    return value


def _scalar(raw, kind):
    if kind is str:
        if isinstance(raw, bytes):
            return raw.decode("utf-8", "replace")
        return raw if isinstance(raw, str) else None
    if isinstance(raw, (str, bytes)) or np.ndim(raw) != 0:
        return None
    raw = np.asarray(raw)
    if kind is bool:
        return bool(raw) if raw.dtype.kind in "bi" and int(raw) in (0, 1) else None
    if kind is int:
        return int(raw) if raw.dtype.kind in "iu" else None
    if kind is float:
        return float(raw) if raw.dtype.kind in "iuf" else None
    raise TypeError(kind)


def in_range(value, low, high, what, where):
    """``int(value)``, or a `FileFormatError` unless ``low <= value <= high``."""
    value = int(value)
    if not low <= value <= high:
        raise FileFormatError(f"{where}: {what} is {value}, outside [{low}, {high}]")
    return value


def views(table, nbytes, where):
    """The view table of a component as ``[(offset, dtype code, shape, strides)]``,
    each view inside the component's ``nbytes``-byte buffer.

    Raises
    ------
    FileFormatError
        For an unknown dtype, a dimension count outside 0..MAX_DIMS, a negative size,
        an offset not aligned to the item size, or bytes outside the buffer.
    """
    result = []
    for i, row in enumerate(table):
        what = f"view {i}"
        code = int(row["dtype"])
        if code not in CODE_DTYPES:
            raise FileFormatError(f"{where}: {what} has an unknown dtype code {code}")
        item = CODE_DTYPES[code].itemsize
        ndim = in_range(row["ndim"], 0, MAX_DIMS, f"{what}'s dimension count", where)
        offset = in_range(row["offset"], 0, nbytes, f"{what}'s offset", where)
        shape = tuple(int(x) for x in row["shape"][:ndim])
        strides = tuple(int(x) for x in row["strides"][:ndim])
        if any(s < 0 for s in shape):
            raise FileFormatError(f"{where}: {what} has a negative shape {shape}")
        if offset % item:
            raise FileFormatError(f"{where}: {what}'s offset {offset} is not a multiple "
                                  f"of its item size {item}")
        # A view repeating its elements (a zero stride) stays in bounds at any length,
        # and an op loops over every element: no view of a model is longer than its
        # component's buffer (in bytes), which bounds each op's work by the file's size.
        if math.prod(shape) > nbytes:
            raise FileFormatError(f"{where}: {what} has {math.prod(shape)} elements "
                                  f"(shape {shape}), more than its component's {nbytes} "
                                  "bytes")
        if all(shape):
            low = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
            high = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)
            first, last = offset + low * item, offset + (high + 1) * item
            if first < 0 or last > nbytes:
                raise FileFormatError(
                    f"{where}: {what} (offset {offset}, shape {shape}, strides "
                    f"{strides}) addresses bytes [{first}, {last}) outside the "
                    f"component's {nbytes} bytes")
        result.append((offset, code, shape, strides))
    return result


def channels(table, component, n_components, n_views, where):
    """Check the channel table of ``component`` (which has ``n_views`` views)."""
    for i, row in enumerate(table):
        what = f"channel {i}"
        in_range(row["tag"], 0, MAX_TAG, f"{what}'s id", where)
        src = in_range(row["src_component"], 0, n_components - 1,
                       f"{what}'s source component", where)
        dst = in_range(row["dst_component"], 0, n_components - 1,
                       f"{what}'s destination component", where)
        if component not in (src, dst) or src == dst:
            raise FileFormatError(f"{where}: {what} runs from component {src} to {dst}, "
                                  f"but is listed in component {component}")
        if src == component:
            in_range(row["src_view"], 0, n_views - 1, f"{what}'s source view", where)
        if dst == component:
            in_range(row["dst_view"], 0, n_views - 1, f"{what}'s destination view",
                     where)
        for key in ("send_after", "recv_before"):
            in_range(row[key], -1, MAX_ORDER, f"{what}'s {key}", where)


def probe_table(cols, n_components, where):
    """The probes of a model file as dicts (see `nengo_mpi.files.load.ModelFile`)."""
    n = len(cols["index"])
    if any(len(v) != n for k, v in cols.items() if k != "shape"):
        raise FileFormatError(f"{where}: the probe table's columns differ in length")
    ndims = [in_range(d, 0, MAX_DIMS, f"probe {i}'s dimension count", where)
             for i, d in enumerate(cols["ndim"])]
    if sum(ndims) != len(cols["shape"]):
        raise FileFormatError(f"{where}: the probe table has {len(cols['shape'])} shape "
                              f"entries for {sum(ndims)} dimensions")
    probes, at, names, indices = [], 0, set(), set()
    for i in range(n):
        what = f"probe {i}"
        shape = tuple(in_range(s, 0, 2**62, f"{what}'s shape", where)
                      for s in cols["shape"][at : at + ndims[i]])
        at += ndims[i]
        code = int(cols["dtype"][i])
        if code not in CODE_DTYPES:
            raise FileFormatError(f"{where}: {what} has an unknown dtype code {code}")
        period = float(cols["period"][i])
        if not (math.isfinite(period) and period > 0):
            raise FileFormatError(f"{where}: {what} has the sampling period {period}")
        every = float(cols["sample_every"][i])
        if not (math.isnan(every) or (math.isfinite(every) and every > 0)):
            raise FileFormatError(f"{where}: {what} has sample_every {every}")
        name, label = str(cols["name"][i]), str(cols["label"][i])
        # The name becomes a dataset of the probe file.
        if not name or "/" in name or name in (".", "..") or name in names:
            raise FileFormatError(f"{where}: {what} has the name {name!r} (empty, with "
                                  "'/', or not unique)")
        index = in_range(cols["index"][i], 0, 2**62, f"{what}'s index", where)
        if index in indices:
            raise FileFormatError(f"{where}: probe index {index} appears twice")
        names.add(name)
        indices.add(index)
        probes.append({
            "index": index,
            "component": in_range(cols["component"][i], 0, n_components - 1,
                                  f"{what}'s component", where),
            "view": in_range(cols["view"][i], 0, 2**62, f"{what}'s view", where),
            "period": period,
            "dtype": str(CODE_DTYPES[code]),
            "shape": shape,
            "sample_every": None if math.isnan(every) else every,
            "label": label,
            "name": name,
        })
    return probes


def probe_fits_view(probe, view, where):
    """A probe must read a view of its own dtype and number of elements."""
    _, code, shape, _ = view
    size = math.prod(shape)
    if str(CODE_DTYPES[code]) != probe["dtype"] or math.prod(probe["shape"]) != size:
        raise FileFormatError(
            f"{where}: probe {probe['name']!r} ({probe['dtype']}, shape "
            f"{probe['shape']}) does not fit its view {probe['view']} "
            f"({CODE_DTYPES[code]}, shape {shape})")


def rng_row(row, where):
    """A checkpoint's generator state as numpy's ``RandomState.get_state()`` tuple."""
    key = np.array(row["key"], dtype=np.uint32)
    pos = in_range(row["pos"], 0, 624, "a generator's position", where)
    has_gauss = in_range(row["has_gauss"], 0, 1, "a generator's has_gauss", where)
    gauss = float(row["gauss"])
    if not math.isfinite(gauss):
        raise FileFormatError(f"{where}: a generator's cached Gaussian is {gauss}")
    # MT19937 never reaches a state whose bits (other than the top bit of the first
    # word) are all zero; from it, it draws zeros forever.
    if not (key[1:].any() or key[0] & 0x7FFFFFFF):
        raise FileFormatError(f"{where}: a generator's state is all zeros")
    return ("MT19937", key, pos, has_gauss, gauss)
