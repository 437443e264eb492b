"""LIF's batched expm1/log1p (cpp/ops/small_math.hpp): series near zero, libm beyond."""

import math

import numpy as np
import pytest

from nengo_mpi import _engine

BOUND = 0.0625  # kSmallArg: the series' range

FUNCS = [(_engine.expm1_batch, np.expm1, math.expm1),
         (_engine.log1p_batch, np.log1p, math.log1p)]


def ulps(ours, exact, dtype):
    """|ours - exact| in units of the spacing of dtype at exact."""
    spacing = np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    return np.abs(ours.astype(np.longdouble) - exact) / spacing


@pytest.mark.parametrize("batch, ref, _", FUNCS)
def test_series_accurate_to_a_few_ulps_in_double(batch, ref, _):
    x = np.random.RandomState(0).uniform(-BOUND, BOUND, 100000)
    x[:4] = [0.0, -0.0, BOUND, -BOUND]
    exact = ref(x.astype(np.longdouble))  # 64-bit mantissa
    err = ulps(batch(x), exact, np.float64)
    # libm (numpy's float64 result, by the same measure) reaches about 2
    assert err.max() <= 3.0
    assert err.mean() <= 0.6
    out = batch(x[:2])
    assert np.signbit(out[1]) and not np.signbit(out[0])  # f(-0) = -0, as libm


@pytest.mark.parametrize("batch, ref, _", FUNCS)
def test_series_accurate_to_a_few_ulps_in_float(batch, ref, _):
    x = np.random.RandomState(1).uniform(-BOUND, BOUND, 100000).astype(np.float32)
    out = batch(x)
    assert out.dtype == np.float32
    assert ulps(out, ref(x.astype(np.longdouble)), np.float32).max() <= 3.0


@pytest.mark.parametrize("batch, _, libm", FUNCS)
def test_beyond_the_series_range_is_libm(batch, _, libm):
    x = np.array([-0.9, -0.5, -0.0626, 0.0626, 0.3, 2.0, np.inf, np.nan])
    out = batch(x)
    expected = [libm(v) if not np.isnan(v) else np.nan for v in x]
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(batch(np.array([np.nan]))[0])
