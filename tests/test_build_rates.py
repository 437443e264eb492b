"""Native LIF rates at evaluation points (nengo_mpi.construction.decoders): nengo's to the bit."""

import numpy as np
import pytest
import nengo
from nengo.exceptions import BuildError

import nengo_mpi
from nengo_mpi.construction.decoders import neuron_rates


@pytest.mark.parametrize("neuron_type", [
    nengo.LIF(), nengo.LIFRate(), nengo.LIF(tau_rc=0.05, tau_ref=0.001, amplitude=0.3),
    nengo.LIFRate(tau_rc=0.2, tau_ref=0.0),
])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (750, 50), (2500, 129)])
def test_lif_rates_equal_nengos(neuron_type, shape, rng):
    x = rng.uniform(-1.5, 1.5, shape)
    gain = rng.uniform(0.1, 30, shape[1])
    bias = rng.uniform(-20, 20, shape[1])
    x[0, 0] = (1 - bias[0]) / gain[0]  # a current of (about) exactly 1
    expected = neuron_type.rates(x, gain, bias)
    got, nonzero = neuron_rates(neuron_type, x, gain, bias)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert nonzero == np.count_nonzero(expected)


def test_nan_and_float32_inputs_as_nengo(rng):
    lif = nengo.LIF()
    x = rng.uniform(-1, 1, (20, 4)).astype(np.float32)
    gain = rng.uniform(1, 5, 4)
    bias = rng.uniform(-1, 3, 4)
    x[3, 2] = np.nan
    expected = lif.rates(x, gain, bias)
    got, _ = neuron_rates(lif, x, gain, bias)
    assert np.array_equal(got, expected)  # NaN currents give rate 0, as in nengo


class ShiftedLIF(nengo.LIF):
    """A subclass may change the rates: it must use its own."""

    def rates(self, x, gain, bias):
        return super().rates(x, gain, bias) + 1.0


def test_subclasses_and_other_types_use_their_own_rates(rng):
    x = rng.uniform(-1, 1, (30, 5))
    gain, bias = rng.uniform(1, 5, 5), rng.uniform(-1, 3, 5)
    for neuron_type in (ShiftedLIF(), nengo.RectifiedLinear(), nengo.Sigmoid()):
        got, nonzero = neuron_rates(neuron_type, x, gain, bias)
        assert np.array_equal(got, neuron_type.rates(x, gain, bias))
        assert nonzero == np.count_nonzero(got)


def test_all_zero_activities_raise_nengos_error():
    def net():
        with nengo.Network(seed=0) as model:
            a = nengo.Ensemble(10, 1, intercepts=nengo.dists.Choice([0.99]),
                               eval_points=nengo.dists.Choice([[-0.5]]), label="silent")
            b = nengo.Ensemble(10, 1, label="b")
            nengo.Connection(a, b, label="from silent")
            nengo.Connection(b, b)  # a second solve, so workers are used
        return model

    with pytest.raises(BuildError) as expected:
        nengo.Simulator(net(), progress_bar=False)
    for workers in (0, 2):
        with pytest.raises(BuildError) as got:
            nengo_mpi.Simulator(net(), progress_bar=False, build_workers=workers)
        assert str(got.value) == str(expected.value)
    assert "'activities' matrix is all zero" in str(expected.value)
