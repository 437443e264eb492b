"""DotInc adds in one fixed order, whatever the rows' count or layout: lane sums of a
cache line's width, reduced pairwise (the engine's dot()), computed here in numpy with
the same IEEE operations. Rows go through the engine four at a time or one at a time;
both must give exactly these sums."""

import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.operator import DotInc
from nengo.builder.signal import Signal

import nengo_mpi


def dot_in_engine_order(a, x):
    """One row's sum exactly as cpp/ops/linalg.cpp's dot() forms it."""
    lanes = 64 // a.dtype.itemsize
    n = len(a)
    zero = a.dtype.type(0)
    if n < lanes:
        total = zero
        for j in range(n):
            total = total + a[j] * x[j]
        return total
    acc = np.zeros(lanes, dtype=a.dtype)
    full = n // lanes * lanes
    for j in range(0, full, lanes):
        acc = acc + a[j:j + lanes] * x[j:j + lanes]
    tail = zero
    for j in range(full, n):
        tail = tail + a[j] * x[j]
    width = lanes // 2
    while width:
        acc[:width] = acc[:width] + acc[width:2 * width]
        width //= 2
    return acc[0] + tail


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows, cols", [(7, 40), (9, 32), (4, 8), (6, 5), (13, 100)])
def test_dot_inc_sums_in_engine_order(rows, cols, dtype):
    rng = np.random.RandomState(rows * 1000 + cols)
    a = rng.uniform(-1, 1, size=(rows, cols)).astype(dtype)
    # widely varying magnitudes, so that any other order would round differently
    a *= (10.0 ** rng.randint(-6, 6, size=(rows, cols))).astype(dtype)
    x = rng.uniform(-1, 1, size=cols).astype(dtype)
    y0 = rng.uniform(-1, 1, size=rows).astype(dtype)
    model = Model(dt=0.001)
    Y = Signal(y0.copy(), name="Y")
    model.add_op(DotInc(Signal(a, name="A"), Signal(x, name="X"), Y))
    with nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
        sim.step()
        ours = np.array(sim.signals[Y])
    expected = np.array([y0[i] + dot_in_engine_order(a[i], x) for i in range(rows)],
                        dtype=dtype)
    np.testing.assert_array_equal(ours, expected)
