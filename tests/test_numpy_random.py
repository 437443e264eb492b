"""The engine's NumpyRandom reproduces numpy's legacy RandomState draws exactly."""

import numpy as np
import pytest

from nengo_mpi import _engine


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1])
@pytest.mark.parametrize("n", [1, 7, 1000, 2000])  # 2000 uniforms cross several refills
def test_random_sample_matches_numpy(seed, n):
    rng = np.random.RandomState(seed)
    got = _engine.numpy_random_draws(rng.get_state(), "random_sample", n)
    assert np.array_equal(got, rng.random_sample(n))


@pytest.mark.parametrize("seed", [0, 3, 99])
@pytest.mark.parametrize("n", [1, 2, 5, 1001])  # odd counts leave a cached Gaussian
def test_standard_normal_matches_numpy(seed, n):
    rng = np.random.RandomState(seed)
    got = _engine.numpy_random_draws(rng.get_state(), "standard_normal", n)
    assert np.array_equal(got, rng.standard_normal(n))


def test_starts_from_a_cached_gaussian_and_mid_key_position():
    rng = np.random.RandomState(5)
    rng.standard_normal(3)  # odd: one Gaussian cached
    rng.random_sample(101)  # position inside the key
    state = rng.get_state()
    assert state[3] == 1
    got = _engine.numpy_random_draws(state, "standard_normal", 9)
    assert np.array_equal(got, rng.standard_normal(9))


def test_rejects_a_short_key():
    state = ("MT19937", np.zeros(10, dtype=np.uint32), 0, 0, 0.0)
    with pytest.raises(ValueError, match="624"):
        _engine.numpy_random_draws(state, "random_sample", 1)
