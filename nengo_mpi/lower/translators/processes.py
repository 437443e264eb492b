"""Native records for processes and synapses (nengo's SimProcess).

Native, in float64 and float32:

- synapses with an input: `nengo.LinearFilter`, `nengo.Lowpass`, `nengo.Alpha` (all of
  nengo's step forms) and `nengo.synapses.Triangle`;
- noise: `nengo.processes.WhiteNoise`, `FilteredNoise` (with one of those synapses) and
  `BrownNoise`, drawing from `nengo.dists.Gaussian` or a non-integer `nengo.dists.Uniform`
  with a copy of numpy's RandomState seeded like the process's own generator;
- tables by time: `WhiteSignal` (its signal computed by nengo's own ``make_step`` in
  Python, again on every reset), `PresentInput`, and `Piecewise` with any of its
  interpolation kinds (values computed by nengo's own step function for every step up to
  the last breakpoint).

Declined (Python fallback), each for a stated reason in its translator: subclasses (they
may override ``make_step``); other distributions (see `_noise_dist`); synapses other than
those above inside FilteredNoise; Piecewise with callables (a Python call every step) or
with more than `MAX_TABLE_VALUES` values up to its last breakpoint; and shapes, dtypes or
parameters that nengo itself rejects or computes in a way not reproduced here.
"""

import nengo
import numpy as np
from nengo.processes import (
    BrownNoise,
    FilteredNoise,
    Piecewise,
    PresentInput,
    WhiteNoise,
    WhiteSignal,
)
from nengo.synapses import Triangle

from ..layout import is_c_contiguous, same_real_dtype
from .seeding import ProcessRng

#: LinearFilter step forms in the engine's numbering (cpp/ops/synapses.hpp).
FILTER_FORMS = {"NoX": 0, "OneX": 1, "NoD": 2, "General": 3}
WRITE_MODES = {"set": 0, "inc": 1, "update": 2}
#: Noise distributions in the engine's numbering (cpp/ops/processes.hpp).
NOISE_DISTS = {nengo.dists.Gaussian: 0, nengo.dists.Uniform: 1}
#: TimeTable index rules in the engine's numbering (cpp/ops/processes.hpp).
TABLE_RULES = {"Periodic": 0, "Presentation": 1, "Breakpoints": 2, "StepTimes": 3}

LINEAR_FILTERS = (nengo.LinearFilter, nengo.Lowpass, nengo.Alpha)

#: Piecewise interpolation tables larger than this (steps up to the last breakpoint
#: times output size) are not precomputed; the process runs through Python instead.
MAX_TABLE_VALUES = 10_000_000


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


def _scalar_keeps_dtype(dtype, *scalars):
    """Whether numpy computes ``scalar * array_of_dtype`` in ``dtype`` for each scalar.

    numpy 1.x casts a Python float to a float32 array's dtype unless its value does not
    fit (then it computes in float64); the kernels assume the former.
    """
    return all(np.result_type(np.dtype(dtype), s) == np.dtype(dtype) for s in scalars)


def _linear_args(synapse, X, n, dtype, dt, layout):
    """``(x_view, form, A, B, C, D)`` for a LinearFilter with state ``X``, or None."""
    A, B, C, D = synapse._get_ss(dt)  # the same discretisation nengo's make_step uses
    form = _filter_form(A, B, C, D, X.initial_value)
    if form is None:
        return None
    if form == "NoX" and not _scalar_keeps_dtype(dtype, D.item()):
        return None
    if form == "OneX" and not _scalar_keeps_dtype(dtype, A.item(), C.item() * B.item()):
        return None
    xv = -1
    if form != "NoX":
        xv = layout.matrix_view(X, (A.shape[0], n))
        if xv is None:
            return None
    return (
        xv,
        FILTER_FORMS[form],
        np.asarray(A, dtype=np.float64).ravel().tolist(),
        np.asarray(B, dtype=np.float64).ravel().tolist(),
        np.asarray(C, dtype=np.float64).ravel().tolist(),
        float(np.asarray(D).item()),
    )


def _triangle_args(synapse, state, n, dt, layout):
    """``(Y_view, X_view, Xi_view, n0, ndiff)`` for a Triangle with ``state``, or None."""
    if set(state) != {"Y", "X", "Xi"}:
        return None
    Y, X, Xi = state["Y"], state["X"], state["Xi"]
    if not same_real_dtype(Y, X, Xi) or Y.size != n or Xi.shape != (1,):
        return None
    n_taps, n0, ndiff = synapse._get_coefficients(dt, dtype=Y.dtype)
    # The kernel sums X's rows in the order numpy's X.sum(axis=0) does for a C-contiguous
    # (n_taps, ...) array; other layouts could be reduced in another order.
    if X.shape[0] != n_taps or X.size != n_taps * n or not is_c_contiguous(X):
        return None
    views = (layout.vector_view(Y), layout.matrix_view(X, (n_taps, n)),
             layout.vector_view(Xi))
    if any(v is None for v in views):
        return None
    return views + (float(n0), float(ndiff))


def _synapse_record(op, layout, dt):
    """A Connection's synapse (any SimProcess of a synapse with an input signal)."""
    process = op.process
    u, y, state = op.input, op.output, op.state
    if u is None or u.size != y.size or y.size == 0:
        return None
    if not same_real_dtype(u, y, *state.values()):
        return None
    uv, yv = layout.vector_view(u), layout.vector_view(y)
    if uv is None or yv is None:
        return None
    mode = WRITE_MODES[op.mode]
    if isinstance(process, Triangle):
        args = _triangle_args(process, state, y.size, dt, layout)
        if args is None:
            return None
        Yv, Xv, Xiv, n0, ndiff = args
        return "add_triangle", (uv, yv, Yv, Xv, Xiv, mode, n0, ndiff)
    if set(state) != {"X"}:
        return None
    args = _linear_args(process, state["X"], y.size, y.dtype, dt, layout)
    if args is None:
        return None
    xv, form, A, B, C, D = args
    return "add_linear_filter", (uv, yv, xv, form, mode, A, B, C, D)


def _noise_dist(dist):
    """``(code, p0, p1)`` for a distribution the engine samples, else None.

    Gaussian samples with ``rng.normal(mean, std)`` and Uniform with
    ``rng.uniform(low, high)``, both reproduced draw for draw by the engine. Other
    distributions (and integer Uniform, which uses ``rng.randint``) sample with numpy
    routines or Python code the engine does not reproduce, so their processes run
    through nengo's own step. Playing back samples drawn in Python would not pay: they
    must be drawn one step at a time (``dist.sample(n=1, ...)``, as nengo does) to
    consume the generator exactly as nengo does, since drawing many steps in one call
    is not the same stream for every distribution; that per-step Python call is most
    of what the fallback costs.
    """
    if type(dist) is nengo.dists.Gaussian:
        if not (np.isfinite(dist.mean) and np.isfinite(dist.std) and dist.std >= 0):
            return None
        return NOISE_DISTS[nengo.dists.Gaussian], float(dist.mean), float(dist.std)
    if type(dist) is nengo.dists.Uniform and not dist.integer:
        low, high = float(dist.low), float(dist.high)
        if not np.isfinite(high - low):  # numpy raises OverflowError here
            return None
        return NOISE_DISTS[nengo.dists.Uniform], low, high
    return None


def _noise_record(op, layout, dt):
    """WhiteNoise, FilteredNoise and BrownNoise: native draws from the process's seed."""
    process = op.process
    y, state = op.output, op.state
    # make_step asserts an empty input and a 1-D output; leave violations to nengo.
    if op.input is not None or y.ndim != 1 or y.size == 0:
        return None
    if not same_real_dtype(y, *state.values()):
        return None
    dist = _noise_dist(process.dist)
    yv = layout.vector_view(y)
    if dist is None or yv is None:
        return None
    scale = bool(process.scale)
    alpha = float(1.0 / np.sqrt(dt))  # nengo's expression, so the same rounding
    head = (yv, WRITE_MODES[op.mode]) + dist + (scale, alpha)
    if type(process) is WhiteNoise:
        if state:
            return None
        return "add_white_noise", head, ProcessRng(process)
    synapse = process.synapse
    if type(synapse) in LINEAR_FILTERS:
        if set(state) != {"X"}:
            return None
        args = _linear_args(synapse, state["X"], y.size, y.dtype, dt, layout)
        if args is None:
            return None
        return "add_filtered_noise_linear", head + args, ProcessRng(process)
    if type(synapse) is Triangle:
        args = _triangle_args(synapse, state, y.size, dt, layout)
        if args is None:
            return None
        return "add_filtered_noise_triangle", head + args, ProcessRng(process)
    return None  # a synapse whose arithmetic the engine does not have


def _exact_table(rows, d):
    """``rows`` as a float64 (n, d) array if every value converts exactly, else None.

    The engine stores tables in float64 and casts a row to the output's dtype on
    writing; that equals numpy's own cast (and its addition in "inc" mode) only for
    values float64 holds exactly.
    """
    rows = np.asarray(rows)
    if rows.dtype.kind not in "fiub" or rows.size % max(d, 1) != 0:
        return None
    table = rows.astype(np.float64).reshape(-1, d)
    if not np.array_equal(table.astype(rows.dtype).reshape(rows.shape), rows):
        return None
    return np.ascontiguousarray(table)


def _table_views(op, layout):
    """Output and time views of an input-less process that reads the time."""
    y = op.output
    if op.input is not None or op.state or y.size == 0 or not same_real_dtype(y, op.t):
        return None
    yv, tv = layout.vector_view(y), layout.view(op.t)
    if yv is None or tv is None or op.t.size != 1:
        return None
    return yv, tv


def _closure_value(fn, name):
    """The value a step function closed over under ``name`` (None if it has none)."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    return cells[name].cell_contents if name in cells else None


def _white_signal(step, shape_out):
    """WhiteSignal's whole signal, as the ``step`` function nengo's make_step made
    holds it."""
    signal = _closure_value(step, "signal")
    if not isinstance(signal, np.ndarray) or signal.shape[1:] != tuple(shape_out):
        return None
    return _exact_table(signal, int(np.prod(shape_out)))


class WhiteSignalTable:
    """Reseed hook: recompute WhiteSignal's signal from the process's generator.

    nengo draws the signal when it makes the step function, at build and on every reset,
    from ``process.get_rng(slot rng)``; this does the same in Python with nengo's own
    code and uploads the result to the engine.
    """

    def __init__(self, process, shape_out, dt):
        self.process = process
        self.shape_out = tuple(shape_out)
        self.dt = dt

    def __call__(self, engine, handle, slot_rng):
        rng = self.process.get_rng(slot_rng)
        step = self.process.make_step((0,), self.shape_out, self.dt, rng, {})
        table = _white_signal(step, self.shape_out)
        engine.set_process_table(handle, table)


def _white_signal_record(op, layout, dt):
    views = _table_views(op, layout)
    if views is None:
        return None
    try:
        # Only the shape matters here (the reseed hook draws the real signal). nengo's
        # own errors (e.g. high above Nyquist) are left for its make_step to raise when
        # the operator runs through Python, as in nengo; ours below surface.
        step = op.process.make_step((0,), op.output.shape, dt, np.random.RandomState(0),
                                    {})
    except Exception:  # pylint: disable=broad-except
        return None
    table = _white_signal(step, op.output.shape)
    if table is None:
        return None
    args = views + (WRITE_MODES[op.mode], TABLE_RULES["Periodic"], dt, 0.0, [], table)
    return "add_time_table", args, WhiteSignalTable(op.process, op.output.shape, dt)


def _present_input_record(op, layout, dt):
    views = _table_views(op, layout)
    process = op.process
    inputs = np.asarray(process.inputs)
    n = len(inputs)
    # make_step asserts a (size,) output; leave violations to nengo.
    if views is None or n == 0 or op.output.shape != (inputs[0].size,):
        return None
    table = _exact_table(inputs.reshape(n, -1), op.output.size)
    if table is None:
        return None
    pt = float(process.presentation_time)
    args = views + (WRITE_MODES[op.mode], TABLE_RULES["Presentation"], dt, pt, [], table)
    return "add_time_table", args


def _step_times(t_signal, dt, n):
    """The times TimeUpdate gives steps 1..n: ``step * dt`` stored at time's dtype."""
    steps = np.arange(1, n + 1, dtype=np.int64)
    return (steps * dt).astype(t_signal.dtype).astype(np.float64)


def _piecewise_record(op, layout, dt):
    views = _table_views(op, layout)
    process = op.process
    if views is None or any(callable(v) for v in process.data.values()):
        return None  # a callable is a Python call every step
    d = op.output.size
    if op.output.shape != (process.size_out,):
        return None  # make_step asserts this; leave it to nengo
    mode = WRITE_MODES[op.mode]
    tp, yp = zip(*sorted(process.data.items()))
    if process.interpolation == "zero":
        # nengo: ti = searchsorted(tp, t + 0.5 dt) - 1, zeros before the first time.
        keys = np.asarray(tp)
        if keys.dtype.kind not in "fiu":
            return None
        keys = keys.astype(np.float64)
        table = _exact_table([np.zeros(d)] + [np.ravel(v) for v in yp], d)
        if table is None or table.shape[0] != len(keys) + 1:
            return None
        return "add_time_table", views + (
            mode, TABLE_RULES["Breakpoints"], dt, 0.0, keys.tolist(), table)

    # Interpolated kinds: nengo's own step function (scipy's interp1d, zero outside the
    # breakpoints) evaluated at every step time up to the last breakpoint, then at one
    # later time for all the rest.
    try:
        step = process.make_step((0,), op.output.shape, dt, None, {})
    except Exception:  # pylint: disable=broad-except
        return None  # e.g. too few points for the kind: nengo's make_step raises it
    last = np.asarray(tp, dtype=np.float64)[-1]
    n = max(int(np.floor(last / dt)) + 2, 1)
    if n * d > MAX_TABLE_VALUES:
        return None
    times = _step_times(op.t, dt, n)
    inside = times[times <= last]
    if len(inside) == len(times):
        return None  # no time past the last breakpoint (float32 time saturates)
    tail = times[len(inside)]
    values = np.asarray(step(inside)).reshape(len(inside), d) if len(inside) else \
        np.zeros((0, d))
    table = _exact_table(np.vstack([values, np.reshape(step(float(tail)), (1, d))]), d)
    if table is None:
        return None
    return "add_time_table", views + (
        mode, TABLE_RULES["StepTimes"], dt, 0.0, inside.tolist(), table)


#: Exact process type -> translator. Subclasses are not matched: they may override
#: make_step, and the fallback runs whatever they do.
LOWERINGS = {
    nengo.LinearFilter: _synapse_record,
    nengo.Lowpass: _synapse_record,
    nengo.Alpha: _synapse_record,
    Triangle: _synapse_record,
    WhiteNoise: _noise_record,
    FilteredNoise: _noise_record,
    BrownNoise: _noise_record,
    WhiteSignal: _white_signal_record,
    PresentInput: _present_input_record,
    Piecewise: _piecewise_record,
}


#: Processes whose step draws no random numbers (subclasses included, as halo builds
#: have always taken them).
NOT_RANDOM = (nengo.synapses.LinearFilter, PresentInput, Piecewise)


def lower_sim_process(op, layout, dt):
    lower = LOWERINGS.get(type(op.process))
    return None if lower is None else lower(op, layout, dt)


def draws_random(op):
    """Whether a SimProcess ``op`` may draw random numbers as it steps."""
    return not isinstance(op.process, NOT_RANDOM)
