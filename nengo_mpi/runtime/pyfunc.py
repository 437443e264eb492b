"""Step functions for the operators that run in Python, made as nengo makes them.

Every fallback op gets nengo's own ``make_step``, except `SimPyFunc` (a Node's Python
function), the one Python op that most models have. nengo's step checks the function's
result with ``np.all(np.isfinite(y))``, which costs about 3 us for a scalar: more than
the rest of a small model's step in the engine. The step made here does the same
things in the same order, with the same errors, but checks scalars with
``math.isfinite`` and arrays with ``np.isfinite(y).all()``.
"""

import math

import numpy as np
from nengo.builder.operator import SimPyFunc
from nengo.exceptions import SimulationError
from nengo.utils.functions import function_name

#: Result types whose finiteness math.isfinite decides exactly as np.isfinite does.
_REAL_SCALARS = (float, int, bool, np.float64, np.float32, np.float16, np.int64,
                 np.int32, np.bool_)


def _all_finite(y):
    if type(y) in _REAL_SCALARS:
        return math.isfinite(y)
    return bool(np.isfinite(y).all())


def make_step(op, signals, dt, rng):
    """``op.make_step(signals, dt, rng)``, with a faster equivalent for `SimPyFunc`."""
    if type(op) is not SimPyFunc:
        return op.make_step(signals, dt, rng)
    fn = op.fn
    output = signals[op.output] if op.output is not None else None
    t = signals[op.t] if op.t is not None else None
    x = signals[op.x] if op.x is not None else None

    def step_simpyfunc():
        args = (np.copy(x),) if x is not None else ()
        y = fn(t.item(), *args) if t is not None else fn(*args)
        if output is not None:
            try:
                # required since numpy turns None into NaN
                if y is None or not _all_finite(y):
                    raise SimulationError(
                        f"Function '{function_name(op.fn)}' returned non-finite value")
                output[...] = y
            except (TypeError, ValueError) as e:
                raise SimulationError(
                    f"Function '{function_name(op.fn)}' returned a value {y!r} of "
                    f"invalid type {type(y)!r}") from e

    return step_simpyfunc
