"""Translate nengo operators into native engine records.

``native_record(op, layout, dt)`` returns ``(engine_method, args)`` for an operator the
C++ engine implements, or None, in which case the operator runs through the Python
fallback (its own ``make_step`` on views of the engine's buffer). Returning None is
always correct, only slower: each translator declines anything it does not fully
understand rather than guessing.
"""

import numpy as np
import nengo
from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import (
    BsrDotInc,
    Copy,
    DotInc,
    ElementwiseInc,
    Reset,
    SparseDotInc,
    TimeUpdate,
)
from nengo.builder.processes import SimProcess
from nengo.utils.numpy import is_array_like

from .layout import signal_dtype_is_f64

#: LinearFilter step forms in the engine's numbering (cpp/ops/synapses.hpp).
FILTER_FORMS = {"NoX": 0, "OneX": 1, "NoD": 2, "General": 3}
WRITE_MODES = {"set": 0, "inc": 1, "update": 2}


def lower_time_update(op, layout, dt):
    step, time = op.step, op.time
    if np.dtype(step.dtype) != np.int64 or not signal_dtype_is_f64(time):
        return None
    return "add_time_update", (layout.view(step), layout.view(time))


def lower_reset(op, layout, dt):
    dst = layout.vector_view(op.dst) if signal_dtype_is_f64(op.dst) else None
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
    if not signal_dtype_is_f64(op.src, op.dst):
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
    if not signal_dtype_is_f64(op.A, op.X, op.Y):
        return None
    return _elementwise(layout, op.A, op.X, op.Y)


def _is_vector_shape(shape):
    return sum(1 for n in shape if n != 1) <= 1


def lower_dot_inc(op, layout, dt):
    A, X, Y = op.A, op.X, op.Y
    if not signal_dtype_is_f64(A, X, Y) or A.sparse:
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
    if not signal_dtype_is_f64(A, X, Y) or not A.sparse:
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
    if not signal_dtype_is_f64(A, X, Y) or A.ndim != 3:
        return None
    data = layout.vector_view(A)  # blocks must be contiguous, one after another
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


def lower_sim_neurons(op, layout, dt):
    neurons = op.neurons
    state = op.state
    if op.state_extra or not signal_dtype_is_f64(op.J, op.output, *state.values()):
        return None
    views = [layout.vector_view(s) for s in [op.J, op.output] + list(state.values())]
    if any(v is None for v in views):
        return None
    j, out = views[0], views[1]
    named = dict(zip(state.keys(), views[2:]))
    # Exact types only: a subclass may override step() and must keep its own behaviour.
    kind = type(neurons)
    if kind is nengo.LIF and set(named) == {"voltage", "refractory_time"}:
        return "add_lif", (
            j,
            out,
            named["voltage"],
            named["refractory_time"],
            float(neurons.tau_rc),
            float(neurons.tau_ref),
            float(neurons.min_voltage),
            float(neurons.amplitude),
        )
    if kind is nengo.LIFRate and not named:
        return "add_lif_rate", (
            j,
            out,
            float(neurons.tau_rc),
            float(neurons.tau_ref),
            float(neurons.amplitude),
        )
    if kind is nengo.RectifiedLinear and not named:
        return "add_rectified_linear", (j, out, float(neurons.amplitude))
    if kind is nengo.SpikingRectifiedLinear and set(named) == {"voltage"}:
        return "add_spiking_rectified_linear", (
            j,
            out,
            named["voltage"],
            float(neurons.amplitude),
        )
    return None


def _filter_form(A, B, C, D, X):
    """nengo's own choice of step form for these matrices (same checks, same order)."""
    lf = nengo.LinearFilter
    if lf.NoX.check(A, B, C, D, X):
        return "NoX"
    if lf.OneX.check(A, B, C, D, X):  # OneXScalar is OneX for a single element
        return "OneX"
    if lf.NoD.check(A, B, C, D, X):
        return "NoD"
    if lf.General.check(A, B, C, D, X):
        return "General"
    return None


def lower_sim_process(op, layout, dt):
    process = op.process
    if type(process) not in (nengo.LinearFilter, nengo.Lowpass, nengo.Alpha):
        return None
    u, y = op.input, op.output
    state = op.state
    if u is None or set(state) != {"X"} or u.size != y.size:
        return None
    X = state["X"]
    if not signal_dtype_is_f64(u, y, X):
        return None
    A, B, C, D = process._get_ss(dt)  # the same discretisation nengo's make_step uses
    form = _filter_form(A, B, C, D, X.initial_value)
    if form is None:
        return None
    uv, yv = layout.vector_view(u), layout.vector_view(y)
    k = A.shape[0]
    xv = -1
    if form != "NoX":
        xv = layout.matrix_view(X, (k, y.size))
    if uv is None or yv is None or xv is None:
        return None
    return "add_linear_filter", (
        uv,
        yv,
        xv,
        FILTER_FORMS[form],
        WRITE_MODES[op.mode],
        np.asarray(A, dtype=np.float64).ravel().tolist(),
        np.asarray(B, dtype=np.float64).ravel().tolist(),
        np.asarray(C, dtype=np.float64).ravel().tolist(),
        float(np.asarray(D).item()),
    )


#: Exact operator type -> translator. Subclasses are not matched: they may change
#: make_step, and the fallback runs whatever they do.
TRANSLATORS = {
    TimeUpdate: lower_time_update,
    Reset: lower_reset,
    Copy: lower_copy,
    ElementwiseInc: lower_elementwise_inc,
    DotInc: lower_dot_inc,
    SparseDotInc: lower_sparse_dot_inc,
    BsrDotInc: lower_bsr_dot_inc,
    SimNeurons: lower_sim_neurons,
    SimProcess: lower_sim_process,
}


def native_record(op, layout, dt):
    """``(engine_method, args)`` for ``op``, or None to run it through Python."""
    translator = TRANSLATORS.get(type(op))
    return None if translator is None else translator(op, layout, dt)
