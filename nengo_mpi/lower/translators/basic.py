"""Native records for nengo's bookkeeping and linear-algebra operators."""

import numpy as np
from nengo.utils.numpy import is_array_like

from ..layout import is_c_contiguous, same_real_dtype


def lower_time_update(op, layout, dt):
    step, time = op.step, op.time
    if np.dtype(step.dtype) not in (np.int64, np.int32) or not same_real_dtype(time):
        return None
    return "add_time_update", (layout.view(step), layout.view(time))


def lower_reset(op, layout, dt):
    dst = layout.vector_view(op.dst) if same_real_dtype(op.dst) else None
    if dst is None:
        return None
    return "add_reset", (dst, float(op.value))


def _index_list(sl, length):
    """An explicit int64 index list for a Copy slice, or None if we cannot handle it."""
    if sl is None:
        return np.zeros(0, dtype=np.int64)
    if not is_array_like(sl):
        return None
    arr = np.asarray(sl)
    if arr.dtype.kind == "b":
        if arr.shape != (length,):
            return None
        arr = np.flatnonzero(arr)
    elif arr.dtype.kind not in "iu" or arr.ndim != 1:
        return None
    arr = arr.astype(np.int64)
    arr[arr < 0] += length
    if np.any(arr < 0) or np.any(arr >= length):
        return None
    return arr


def lower_copy(op, layout, dt):
    # A float32 <-> float64 copy (nengo's RLS error under 32-bit precision) is native
    # too (kernel name "CastCopy").
    if not (same_real_dtype(op.src) and same_real_dtype(op.dst)):
        return None
    src, dst = layout.vector_view(op.src), layout.vector_view(op.dst)
    if src is None or dst is None:
        return None
    if (op.src_slice is not None or op.dst_slice is not None) and (
        op.src.ndim > 1 or op.dst.ndim > 1
    ):
        return None  # slices index the first axis; only plain vectors are native
    src_idx = _index_list(op.src_slice, op.src.size)
    dst_idx = _index_list(op.dst_slice, op.dst.size)
    if src_idx is None or dst_idx is None:
        return None
    n_src = len(src_idx) if op.src_slice is not None else op.src.size
    n_dst = len(dst_idx) if op.dst_slice is not None else op.dst.size
    if n_src not in (n_dst, 1):
        return None
    if not op.inc and len(np.unique(dst_idx)) < len(dst_idx):
        return None  # nengo's make_step raises the BuildError for this; let it
    return "add_copy", (src, dst, src_idx.tolist(), dst_idx.tolist(), bool(op.inc))


def _as_2d(shape):
    shape = tuple(shape)
    return (1,) * (2 - len(shape)) + shape if len(shape) <= 2 else None


def _elementwise(layout, a, x, y):
    """Record for Y += A * X with nengo's 2-D broadcasting, or None."""
    shapes = [_as_2d(s.shape) for s in (a, x, y)]
    if any(s is None for s in shapes):
        return None
    (ar, ac), (xr, xc), (yr, yc) = shapes
    for da, dx, dy in ((ar, xr, yr), (ac, xc, yc)):
        if not (da in (1, dy) and dx in (1, dy) and max(da, dx) == dy):
            return None
    views = [layout.matrix_view(s, shp) for s, shp in zip((a, x, y), shapes)]
    if any(v is None for v in views):
        return None
    return "add_elementwise_inc", tuple(views)


def lower_elementwise_inc(op, layout, dt):
    if not same_real_dtype(op.A, op.X, op.Y):
        return None
    return _elementwise(layout, op.A, op.X, op.Y)


def _is_vector_shape(shape):
    return sum(1 for n in shape if n != 1) <= 1


def lower_dot_inc(op, layout, dt):
    A, X, Y = op.A, op.X, op.Y
    if not same_real_dtype(A, X, Y) or A.sparse:
        return None
    if A.ndim == 0 or X.ndim == 0:
        # A scalar factor is an elementwise product; _elementwise checks broadcasting.
        return _elementwise(layout, A, X, Y)
    if A.ndim == 1 and X.ndim == 1:
        if A.size != X.size or Y.size != 1:
            return None
        a = layout.matrix_view(A, (1, A.size))
        x, y = layout.vector_view(X), layout.vector_view(Y)
    elif A.ndim == 2 and _is_vector_shape(X.shape) and _is_vector_shape(Y.shape):
        if A.shape[1] != X.size or A.shape[0] != Y.size:
            return None
        a = layout.matrix_view(A, A.shape)
        x, y = layout.vector_view(X), layout.vector_view(Y)
    else:
        return None
    if a is None or x is None or y is None:
        return None
    return "add_dot_inc", (a, x, y)


def lower_sparse_dot_inc(op, layout, dt):
    A, X, Y = op.A, op.X, op.Y
    if not same_real_dtype(A, X, Y) or not A.sparse:
        return None
    sp = layout.sparse[A.base]
    x, y = layout.vector_view(X), layout.vector_view(Y)
    if x is None or y is None or sp.shape != (Y.size, X.size):
        return None
    return "add_sparse_dot_inc", (
        layout.view(A),
        x,
        y,
        sp.indptr.tolist(),
        sp.indices.tolist(),
    )


def lower_bsr_dot_inc(op, layout, dt):
    A, X, Y = op.A, op.X, op.Y
    # The kernel reads the blocks as one run of elements, one block after another: a
    # strided A (e.g. every other block of a base) runs in Python.
    if not same_real_dtype(A, X, Y) or A.ndim != 3 or not is_c_contiguous(A):
        return None
    data = layout.vector_view(A)
    x, y = layout.vector_view(X), layout.vector_view(Y)
    if data is None or x is None or y is None:
        return None
    _, br, bc = A.shape
    return "add_bsr_dot_inc", (
        data,
        x,
        y,
        int(br),
        int(bc),
        np.asarray(op.indptr, dtype=np.int64).tolist(),
        np.asarray(op.indices, dtype=np.int64).tolist(),
    )
