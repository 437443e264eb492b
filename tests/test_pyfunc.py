"""Our SimPyFunc step (nengo_mpi.runtime.pyfunc) behaves as nengo's own, errors included."""

import numpy as np
import pytest
from nengo.builder.operator import SimPyFunc
from nengo.builder.signal import Signal
from nengo.exceptions import SimulationError

from nengo_mpi.runtime import pyfunc

RESULTS = [
    0.5, 3, True, np.float64(-2.0), np.float32(1.5), np.int64(4), [0.25],
    np.array([1.0]), np.array(2.0), None, float("nan"), np.float64(np.inf),
    np.array([np.nan]), [np.inf], "a", [1.0, 2.0], {"a": 1}, 1 + 2j, np.complex128(1),
]


def _steps(result, with_x):
    signals = {}
    out = Signal(np.zeros(1), name="out")
    t = Signal(np.zeros(()), name="t")
    x = Signal(np.array([0.25, -0.5]), name="x") if with_x else None
    seen = []

    def fn(t_value, *args):
        seen.append((t_value, *[a.copy() for a in args]))
        return result

    op = SimPyFunc(out, fn, t, x)
    steps = []
    for make in (op.make_step, lambda *a: pyfunc.make_step(op, *a)):
        signals = {out: np.zeros(1), t: np.array(0.125)}
        if x is not None:
            signals[x] = x.initial_value.copy()
        steps.append((make(signals, 0.001, None), signals))
    return steps, out, seen


def _outcome(step, signals, out):
    try:
        step()
    except SimulationError as e:
        return "error", str(e), e.__cause__.__class__
    return "ok", signals[out].copy()


@pytest.mark.parametrize("with_x", [False, True])
@pytest.mark.parametrize("result", RESULTS, ids=repr)
def test_same_outcome_as_nengo(result, with_x):
    ((theirs, sig_theirs), (ours, sig_ours)), out, seen = _steps(result, with_x)
    expected = _outcome(theirs, sig_theirs, out)
    got = _outcome(ours, sig_ours, out)
    assert got[0] == expected[0]
    if got[0] == "ok":
        np.testing.assert_array_equal(got[1], expected[1])
    else:
        assert got[1:] == expected[1:]
    assert len(seen) == 2
    for a, b in zip(seen[0], seen[1]):
        np.testing.assert_array_equal(a, b)


def test_other_ops_get_nengos_step():
    class Marker:
        def make_step(self, signals, dt, rng):
            return ("made", signals, dt, rng)

    assert pyfunc.make_step(Marker(), {}, 0.001, 7) == ("made", {}, 0.001, 7)
