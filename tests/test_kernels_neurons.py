"""Native neuron kernels (nengo's SimNeurons) against nengo's own numpy step functions.

Two levels:

- one SimNeurons op in a hand-built model, stepped in ``nengo.Simulator`` and
  ``nengo_mpi.Simulator`` side by side, comparing the output and every state signal
  after every step: with hand-picked states and inputs, and on fresh random inputs
  every step starting from the neuron type's own initial state (``make_state``: its
  default distributions or the ``initial_state`` given), in float64 and float32;
- real networks (an Ensemble of each neuron type), built by nengo's builder and compared
  through probes, in float64 and float32.

Every test also checks that the op under test ran as the expected native kernel, so a
silent fallback to Python fails it.

Where the kernels use transcendental functions (exp, expm1, log1p, tanh), numpy's
vectorised implementations and libm differ by an ulp or two, so those results are
compared to within a few ulps (``TOLERANCES``); everything else must match bit for bit,
spikes and random streams included.
"""

import pickle

import nengo
import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.neurons import SimNeurons
from nengo.builder.signal import Signal
from nengo.dists import Uniform
from nengo.rc import rc

import nengo_mpi
from nengo_mpi import _engine
from nengo_mpi.kernels import neuron_kernels
from nengo_mpi.lower.translators.neurons import NeuronTypeRng, lower_sim_neurons
from nengo_mpi.lower.layout import ComponentLayout

from kernel_harness import DT, N_STEPS, model_signals, op_kinds, run_against_nengo

#: (rtol, atol) for results that go through exp/expm1/log1p/tanh: numpy's SIMD versions
#: and libm differ by up to ~3 ulps; the neuron state carries such differences from step
#: to step without amplifying them (every kernel here is contractive or resets).
TOLERANCES = {
    np.dtype(np.float64): (1e-12, 1e-12),
    np.dtype(np.float32): (2e-6, 2e-6),
}

DTYPES = [np.float64, np.float32]


# --- Hand-picked states and inputs (float64, kernel_harness) --------------------------


def neuron_model(neuron_type, n, state_values):
    """A model with one SimNeurons op; returns (model, J, output, state signals)."""
    model = Model(dt=DT)
    J = Signal(np.zeros(n), name="J")
    out = Signal(np.zeros(n), name="out")
    state = {name: Signal(value, name=name) for name, value in state_values.items()}
    model.add_op(SimNeurons(neuron_type, J, out, state=state))
    return model, J, out, state


@pytest.mark.parametrize("amplitude", [1.0, 0.4])
def test_lif(rng, amplitude):
    """LIF spikes, voltages and refractory times match nengo's, step after step.

    Some neurons start refractory, inputs straddle the threshold so that neurons spike,
    and some drive voltages below min_voltage.
    """
    n = 120
    lif = nengo.LIF(tau_rc=0.02, tau_ref=0.002, min_voltage=-0.5, amplitude=amplitude)
    v0 = rng.uniform(-0.5, 1.0, size=n)
    refractory = rng.uniform(0, 0.003, size=n) * (rng.uniform(size=n) < 0.3)
    model, J, out, state = neuron_model(
        lif, n, {"voltage": v0, "refractory_time": refractory}
    )
    voltage = state["voltage"]
    _, history = run_against_nengo(
        model,
        ["LIF"],
        inputs={J: rng.uniform(-4, 6, size=(N_STEPS, n))},
        exact=[J, out],
        record=[out, voltage],
    )
    # the premises: neurons spiked, voltages were clamped at min_voltage, and neurons
    # refractory for the whole first step kept their voltage through it
    spikes = history[out]
    assert np.all((spikes == 0) | (spikes == amplitude / DT))
    assert np.count_nonzero(spikes) > 20
    assert np.any(history[voltage] == -0.5)
    held = refractory > 2 * DT
    assert np.any(held) and np.all(history[voltage][0, held] == v0[held])


@pytest.mark.parametrize("amplitude", [1.0, 2.5])
def test_lif_rate(rng, amplitude):
    """LIFRate rates match nengo's, for inputs below, at and above threshold."""
    n = 60
    model, J, out, _ = neuron_model(
        nengo.LIFRate(tau_rc=0.03, tau_ref=0.001, amplitude=amplitude), n, {}
    )
    J_values = rng.uniform(-1, 5, size=(N_STEPS, n))
    J_values[:, :3] = 1.0  # exactly at threshold: rate 0
    _, history = run_against_nengo(
        model, ["LIFRate"], inputs={J: J_values}, record=[out]
    )
    assert np.any(history[out] == 0) and np.any(history[out] > 0)


@pytest.mark.parametrize("amplitude", [1.0, 0.5])
def test_rectified_linear(rng, amplitude):
    """RectifiedLinear output = amplitude * max(J, 0), exactly as nengo computes it."""
    n = 40
    model, J, out, _ = neuron_model(nengo.RectifiedLinear(amplitude=amplitude), n, {})
    run_against_nengo(
        model,
        ["RectifiedLinear"],
        inputs={J: rng.uniform(-5, 5, size=(N_STEPS, n))},
        exact=[J, out],
    )


@pytest.mark.parametrize("amplitude", [1.0, 0.3])
def test_spiking_rectified_linear(rng, amplitude):
    """SpikingRectifiedLinear spikes (several per step, too) and voltages match."""
    n = 50
    model, J, out, state = neuron_model(
        nengo.SpikingRectifiedLinear(amplitude=amplitude),
        n,
        {"voltage": rng.uniform(0, 1, size=n)},
    )
    _, history = run_against_nengo(
        model,
        ["SpikingRectifiedLinear"],
        inputs={J: rng.uniform(-500, 3500, size=(N_STEPS, n))},
        exact=[J, out, state["voltage"]],
        record=[out],
    )
    n_spikes = history[out] * DT / amplitude
    assert np.allclose(n_spikes, np.round(n_spikes))
    assert n_spikes.max() >= 3 and np.any(n_spikes == 0)


# --- One op, stepped against nengo's numpy step --------------------------------------


class Case:
    """A neuron type to step: how to make it, its inputs, and what must be exact.

    Parameters
    ----------
    make : callable
        Returns the neuron type (fresh, since types are frozen objects shared by ops).
    low, high : float
        Range of the uniformly random input (currents, or rates for the rates-to-spikes
        types, whose J is the base type's output).
    kind : str
        The engine kernel that must run it.
    exact : bool
        True if the kernel has no transcendental functions, so every signal must match
        bit for bit; otherwise only the output of a spiking type must (spikes).
    """

    def __init__(self, make, low, high, kind, exact):
        self.make, self.low, self.high, self.kind, self.exact = make, low, high, kind, exact


CASES = {
    "LIF": Case(
        lambda: nengo.LIF(tau_rc=0.02, tau_ref=0.002, min_voltage=-0.5, amplitude=0.7),
        -3, 6, "LIF", False,
    ),
    "LIF-initial-state": Case(
        lambda: nengo.LIF(
            min_voltage=-np.inf,
            initial_state={
                "voltage": Uniform(-0.5, 1.0),
                "refractory_time": Uniform(0, 0.004),
            },
        ),
        -1, 6, "LIF", False,
    ),
    "LIFRate": Case(
        lambda: nengo.LIFRate(tau_rc=0.03, tau_ref=0.001, amplitude=2.0),
        -1, 5, "LIFRate", False,
    ),
    "AdaptiveLIF": Case(
        lambda: nengo.AdaptiveLIF(
            tau_n=0.05, inc_n=0.2, min_voltage=-0.3,
            initial_state={"adaptation": Uniform(0, 1)},
        ),
        -1, 8, "AdaptiveLIF", False,
    ),
    "AdaptiveLIFRate": Case(
        lambda: nengo.AdaptiveLIFRate(
            tau_n=0.05, inc_n=0.02, amplitude=0.5,
            initial_state={"adaptation": Uniform(0, 2)},
        ),
        -1, 8, "AdaptiveLIFRate", False,
    ),
    "Izhikevich": Case(
        lambda: nengo.Izhikevich(
            initial_state={"voltage": Uniform(-70, 35), "recovery": Uniform(-15, 10)}
        ),
        -45, 30, "Izhikevich", True,
    ),
    "Izhikevich-FS-default-state": Case(
        lambda: nengo.Izhikevich(
            tau_recovery=0.1, coupling=0.25, reset_voltage=-55, reset_recovery=4
        ),
        0, 25, "Izhikevich", True,
    ),
    "Sigmoid": Case(lambda: nengo.Sigmoid(tau_ref=0.003), -8, 8, "Sigmoid", False),
    "Tanh": Case(lambda: nengo.Tanh(tau_ref=0.004), -3, 3, "Tanh", False),
    "RectifiedLinear": Case(
        lambda: nengo.RectifiedLinear(amplitude=0.5), -5, 5, "RectifiedLinear", True
    ),
    "SpikingRectifiedLinear": Case(
        lambda: nengo.SpikingRectifiedLinear(amplitude=0.3),
        -500, 3500, "SpikingRectifiedLinear", True,
    ),
    "RegularSpiking": Case(
        lambda: nengo.RegularSpiking(nengo.Tanh(), amplitude=0.5),
        -800, 3000, "RegularSpiking", True,
    ),
    "RegularSpiking-initial-state": Case(
        lambda: nengo.RegularSpiking(
            nengo.LIFRate(), initial_state={"voltage": Uniform(-1, 1)}
        ),
        0, 2500, "RegularSpiking", True,
    ),
    "StochasticSpiking": Case(
        lambda: nengo.StochasticSpiking(nengo.LIFRate(), amplitude=0.5),
        -200, 2500, "StochasticSpiking", True,
    ),
    "StochasticSpiking-negative": Case(
        lambda: nengo.StochasticSpiking(nengo.Tanh()),
        -2500, 2500, "StochasticSpiking", True,
    ),
    # rates up to 30 kHz: dt * rate spans both of numpy's Poisson algorithms (< 10, >= 10)
    "PoissonSpiking": Case(
        lambda: nengo.PoissonSpiking(nengo.LIFRate(), amplitude=0.5),
        0, 30000, "PoissonSpiking", True,
    ),
    "PoissonSpiking-negative": Case(
        lambda: nengo.PoissonSpiking(nengo.Tanh()),
        -30000, 30000, "PoissonSpiking", True,
    ),
}


def neuron_op_model(neuron_type, n, dtype, seed):
    """A model with one SimNeurons op whose state is ``neuron_type.make_state``.

    Returns (model, J, output, state signals by name).
    """
    model = Model(dt=DT)
    J = Signal(np.zeros(n, dtype=dtype), name="J")
    out = Signal(np.zeros(n, dtype=dtype), name="out")
    init = neuron_type.make_state(n, rng=np.random.RandomState(seed), dtype=dtype)
    state = {
        name: Signal(value, name=name) if isinstance(value, np.ndarray) else value
        for name, value in init.items()
    }
    model.add_op(SimNeurons(neuron_type, J, out, state=state))
    signals = {k: v for k, v in state.items() if isinstance(v, Signal)}
    return model, J, out, signals


def assert_close(ours, theirs, dtype, exact, msg):
    if exact:
        np.testing.assert_array_equal(ours, theirs, err_msg=msg)
    else:
        # atol relative to the signal's scale: near a threshold (LIFRate's j -> 0) a
        # rate is ill-conditioned, and an ulp of difference in the state before it
        # becomes a larger relative difference in that one small rate.
        rtol, atol = TOLERANCES[np.dtype(dtype)]
        scale = max(1.0, float(np.nanmax(np.abs(theirs), initial=0)))
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol * scale, err_msg=msg)


def step_against_nengo(model, kind, inputs, exact_signals, dtype, reset_at=None):
    """Step ``model`` in nengo and nengo_mpi, writing ``inputs`` (signal -> values per
    step) first and comparing every signal after every step.

    ``reset_at``: reset both simulators before that step (they keep comparing after).
    Returns nengo's values of every signal after every step.
    """
    signals = model_signals(model)
    n_steps = len(next(iter(inputs.values())))
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    history = {sig: [] for sig in signals}
    try:
        kinds = op_kinds(sim)
        assert kind in kinds and "Python" not in kinds, kinds
        for i in range(n_steps):
            if i == reset_at:
                ref.reset()
                sim.reset()
            for sig, values in inputs.items():
                ref.signals[sig][...] = values[i]
                sim.signals[sig][...] = values[i]
            ref.step()
            sim.step()
            for sig in signals:
                exact = (
                    any(sig is s for s in exact_signals)
                    or sig is model.step
                    or sig is model.time
                )
                assert_close(
                    sim.signals[sig], ref.signals[sig], dtype, exact, f"{sig} at step {i}"
                )
                history[sig].append(np.array(ref.signals[sig]))
    finally:
        sim.close()
        ref.close()
    return {sig: np.array(values) for sig, values in history.items()}


def test_every_registered_kernel_is_tested():
    """The kernel registry drives these tables: each kernel for a nengo type has a step
    case and a network case here, so a kernel cannot be added without its tests."""
    kinds = {case.kind for case in CASES.values()}
    network_kinds = {kind for _, needed in NETWORK_TYPES.values() for kind in needed}
    registered = {k.neuron_type.__name__ for k in neuron_kernels()
                  if k.neuron_type.__module__ == "nengo.neurons"}
    assert registered - kinds == set(), "kernels without a step case"
    assert registered - network_kinds == set(), "kernels without a network case"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_step_matches_nengo(rng, name, dtype):
    """Output and state match nengo's step over many steps of random input, starting
    from the type's own initial state distributions, in float64 and float32."""
    case = CASES[name]
    n, n_steps = 100, 200
    neuron_type = case.make()
    model, J, out, state = neuron_op_model(neuron_type, n, dtype, rng.randint(2**31))
    J_values = rng.uniform(case.low, case.high, size=(n_steps, n)).astype(dtype)
    J_values[:, :3] = 0  # no input at all (rate 0, Poisson lam 0, ...)
    exact = [J, *state.values(), out] if case.exact else [J]
    if neuron_type.spiking and not case.exact:
        exact.append(out)  # spike or no spike is never a matter of tolerance here
    history = step_against_nengo(model, case.kind, {J: J_values}, exact, dtype)
    # the premise: the neurons did something (spiked, or had nonzero rates)
    assert np.count_nonzero(history[out]) > n_steps


def test_lif_sub_step_spike_timing(rng):
    """A neuron that spikes mid-step starts its refractory period at the interpolated
    crossing time: refractory_time = tau_ref + t_spike with t_spike within (0, dt]."""
    n, tau_ref = 100, 0.002
    lif = nengo.LIF(tau_rc=0.02, tau_ref=tau_ref)
    model, J, out, state = neuron_op_model(lif, n, np.float64, 1)
    ref_t = state["refractory_time"]
    history = step_against_nengo(
        model,
        "LIF",
        {J: rng.uniform(0, 20, size=(N_STEPS, n))},
        [J, out],
        np.float64,
    )
    spiked = history[out] > 0
    after_spike = history[ref_t][spiked] - tau_ref
    assert spiked.sum() > 100
    assert np.all((after_spike > 0) & (after_spike <= DT))
    assert np.unique(after_spike).size > 50  # really interpolated, not one fixed value


@pytest.mark.parametrize("min_voltage", [0.0, -0.25, -np.inf])
def test_lif_min_voltage(rng, min_voltage):
    """Voltages driven down by negative input stop at min_voltage (never, for -inf)."""
    n = 50
    lif = nengo.LIF(min_voltage=min_voltage)
    model, J, out, state = neuron_op_model(lif, n, np.float64, 2)
    voltage = state["voltage"]
    history = step_against_nengo(
        model, "LIF", {J: rng.uniform(-3, 1, size=(N_STEPS, n))}, [J, out], np.float64
    )
    lowest = history[voltage].min()
    if np.isfinite(min_voltage):
        assert lowest == min_voltage
    else:
        assert lowest < -1


@pytest.mark.parametrize("dtype", DTYPES)
def test_izhikevich_clips_input_and_resets(rng, dtype):
    """Izhikevich clips J at -30 and resets voltage and recovery on spikes: the premises
    of the exact comparison in test_step_matches_nengo, checked on nengo's own values."""
    n = 60
    izh = nengo.Izhikevich(reset_voltage=-60, reset_recovery=6)
    model, J, out, state = neuron_op_model(izh, n, dtype, 3)
    J_values = rng.uniform(-60, 40, size=(N_STEPS, n)).astype(dtype)
    history = step_against_nengo(
        model, "Izhikevich", {J: J_values}, [J, out, *state.values()], dtype
    )
    spiked = history[out] > 0
    assert spiked.sum() > 20 and np.all(history[out][spiked] == dtype(1 / DT))
    assert np.all(history[state["voltage"]][spiked] == -60)


@pytest.mark.parametrize(
    "neuron_type",
    [nengo.RectifiedLinear(), nengo.SpikingRectifiedLinear(), nengo.Izhikevich()],
    ids=["RectifiedLinear", "SpikingRectifiedLinear", "Izhikevich"],
)
def test_nan_input_propagates(rng, neuron_type):
    """A NaN input current gives what numpy gives: np.maximum keeps the NaN, so it
    reaches the output (rectifiers) or the voltage (Izhikevich, whose output is then 0
    since NaN >= 30 is false)."""
    n = 4
    model, J, out, state = neuron_op_model(neuron_type, n, np.float64, 4)
    J_values = rng.uniform(-2, 2, size=(3, n))
    J_values[:, 1] = np.nan
    history = step_against_nengo(
        model,
        type(neuron_type).__name__,
        {J: J_values},
        [J, out, *state.values()],
        np.float64,
    )
    assert any(np.isnan(history[sig][:, 1]).all() for sig in [out, *state.values()])


# --- Poisson: numpy's legacy algorithm, draw for draw --------------------------------


def test_poisson_draws_match_numpy():
    """Our Poisson draws are numpy's RandomState.poisson, draw for draw, for lam 0, tiny,
    around the switch from the multiplication method to PTRS at 10, and large; the
    stream stays in step across the algorithms (each later draw matches too)."""
    special = [0.0, 5e-324, 1e-300, 1e-9, 1e-3, 0.5, 1.0, 9.5, np.nextafter(10, 0), 10.0,
               np.nextafter(10, 11), 10.5, 12, 30, 100, 1234.5, 1e6, 1e9, 1e12, 1e15, 1e18]
    for seed in range(25):
        r = np.random.RandomState(seed)
        lam = np.concatenate([
            special,
            r.uniform(0, 20, 400),
            10 ** r.uniform(-8, 10, 400),
            r.permutation(np.repeat(special, 5)),
        ])
        state = np.random.RandomState(seed + 1000).get_state()
        expected = np.random.RandomState(seed + 1000).poisson(lam, lam.size)
        got = _engine.numpy_poisson_draws(state, lam)
        np.testing.assert_array_equal(got, expected, err_msg=f"seed {seed}")


def test_poisson_draws_match_numpy_at_fixed_lam():
    """Long runs at single lam values (where PTRS rejects and falls back to its full
    log-gamma acceptance test often) stay equal to numpy's."""
    for lam in [0.01, 3.0, 9.99, 10.0, 11.0, 25.0, 400.0, 5e7]:
        state = np.random.RandomState(7).get_state()
        expected = np.random.RandomState(7).poisson(lam, 5000)
        got = _engine.numpy_poisson_draws(state, np.full(5000, lam))
        np.testing.assert_array_equal(got, expected, err_msg=f"lam {lam}")


@pytest.mark.parametrize(
    "rate, message",
    [(-5.0, "lam < 0"), (np.nan, "value too large"), (1e30, "value too large")],
)
def test_poisson_bad_rates_raise_like_nengo(rate, message):
    """A rate numpy's poisson rejects raises ValueError in nengo_mpi as in nengo (numpy
    says "too large" for a NaN too: it checks the upper bound first)."""
    n = 5
    model, J, out, _ = neuron_op_model(nengo.PoissonSpiking(nengo.LIFRate()), n,
                                       np.float64, 5)
    J_values = np.full(n, 100.0)
    J_values[2] = rate
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    try:
        assert "PoissonSpiking" in op_kinds(sim)
        for s in (ref, sim):
            s.signals[J][...] = J_values
            with pytest.raises(ValueError, match=message):
                s.step()
    finally:
        sim.close()
        ref.close()


# --- Random streams and reset --------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["StochasticSpiking", "PoissonSpiking"])
def test_reset_continues_the_stream_as_nengo_does(rng, name, dtype):
    """nengo's Simulator.reset does not re-create a stochastic neuron type's RandomState
    (the builder made it; reset only remakes step functions), so after a reset the
    spikes continue that stream instead of repeating the first run. We do the same:
    after reset, the native kernel matches nengo draw for draw, and differs from the
    first run for the same inputs."""
    case = CASES[name]
    n, n_steps = 50, 40
    model, J, out, _ = neuron_op_model(case.make(), n, dtype, 6)
    first = rng.uniform(case.low, case.high, size=(n_steps, n)).astype(dtype)
    J_values = np.concatenate([first, first])
    history = step_against_nengo(
        model, case.kind, {J: J_values}, [J, out], dtype, reset_at=n_steps
    )
    assert not np.array_equal(history[out][:n_steps], history[out][n_steps:])


def test_neuron_type_rng_seeds_once_and_pickles_fresh():
    """The reseed hook sets the generator's state once per engine; a pickled copy (sent
    to another rank) seeds again."""

    class Engine:
        def __init__(self):
            self.calls = []

        def set_rng_state(self, handle, state):
            self.calls.append((handle, state))

    state = np.random.RandomState(3).get_state()
    hook = NeuronTypeRng(state)
    eng = Engine()
    hook(eng, 7, None)
    hook(eng, 7, None)  # a reset: keep the stream going
    assert len(eng.calls) == 1 and eng.calls[0][0] == 7
    clone = pickle.loads(pickle.dumps(hook))
    eng2 = Engine()
    clone(eng2, 1, None)
    assert len(eng2.calls) == 1
    assert np.array_equal(eng2.calls[0][1][1], state[1])


# --- Declined: subclasses, 16-bit -----------------------------------------------------


class SubclassedLIF(nengo.LIF):
    """A LIF subclass: the engine must not assume it behaves like nengo.LIF."""


class SubclassedPoisson(nengo.PoissonSpiking):
    """A PoissonSpiking subclass: it may draw differently, so it runs its own step."""


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda: SubclassedLIF(tau_rc=0.02, tau_ref=0.002), "LIF"),
        (lambda: SubclassedPoisson(nengo.LIFRate()), "PoissonSpiking"),
    ],
    ids=["LIF", "PoissonSpiking"],
)
def test_subclass_falls_back(make, kind):
    """A subclass of a native type runs through the Python fallback and matches nengo.

    (A network, not a hand-built model shared by both simulators: the fallback would
    share the reference's RandomState object and draw from it too.)
    """
    net, probes = ensemble_network(make())
    kinds, expected, got = run_both(net, probes, 100)
    assert kind not in kinds and "Python" in kinds
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1, np.abs(b).max()))
    assert np.count_nonzero(expected[1]) > 0


@pytest.mark.parametrize(
    "make_rng, native",
    [
        (lambda: np.random.RandomState(1), True),
        (lambda: np.random.RandomState(np.random.PCG64(1)), False),  # not numpy's MT
        (lambda: np.random.default_rng(1), False),  # a Generator, not a RandomState
    ],
    ids=["RandomState", "RandomState-PCG64", "Generator"],
)
def test_stochastic_types_need_an_mt19937_random_state(make_rng, native):
    """Only numpy's legacy MT19937 stream is reproduced natively; any other generator
    in the op's extra state leaves the op to the Python fallback."""
    n = 4
    model = Model(dt=DT)
    J, out = Signal(np.zeros(n), name="J"), Signal(np.zeros(n), name="out")
    op = SimNeurons(nengo.PoissonSpiking(nengo.LIFRate()), J, out, state={})
    op.state_extra["rng"] = make_rng()
    model.add_op(op)
    layout = ComponentLayout()
    for sig in op.all_signals:
        layout.add(sig)
    record = lower_sim_neurons(op, layout, DT)
    assert (record is not None) == native
    if native:
        method, _, reseed = record
        assert method == "add_poisson_spiking" and isinstance(reseed, NeuronTypeRng)


def test_float16_falls_back(rng):
    """16-bit signals are declined (numpy computes them in float16, we do not)."""
    n = 20
    model, J, out, state = neuron_op_model(nengo.LIF(), n, np.float16, 9)
    found, _ = run_against_nengo(
        model,
        ["Python"],
        inputs={J: rng.uniform(0, 5, size=(N_STEPS, n)).astype(np.float16)},
        exact=[out, *state.values()],
        native=False,
    )
    assert "LIF" not in found


# --- Real networks --------------------------------------------------------------------


@pytest.fixture
def precision(request):
    """Set nengo's float precision for one test (restored after)."""
    old = rc.get("precision", "bits")
    rc.set("precision", "bits", request.param)
    yield np.dtype(f"float{request.param}")
    rc.set("precision", "bits", old)


NETWORK_TYPES = {
    "LIF": (lambda: nengo.LIF(min_voltage=-0.2), ["LIF"]),
    "LIFRate": (nengo.LIFRate, ["LIFRate"]),
    "AdaptiveLIF": (lambda: nengo.AdaptiveLIF(tau_n=0.1, inc_n=0.05), ["AdaptiveLIF"]),
    "AdaptiveLIFRate": (
        lambda: nengo.AdaptiveLIFRate(tau_n=0.1, inc_n=0.05),
        ["AdaptiveLIFRate"],
    ),
    "Izhikevich": (nengo.Izhikevich, ["Izhikevich"]),
    "Sigmoid": (nengo.Sigmoid, ["Sigmoid"]),
    "Tanh": (nengo.Tanh, ["Tanh"]),
    "RectifiedLinear": (nengo.RectifiedLinear, ["RectifiedLinear"]),
    "SpikingRectifiedLinear": (nengo.SpikingRectifiedLinear, ["SpikingRectifiedLinear"]),
    "RegularSpiking(LIFRate)": (
        lambda: nengo.RegularSpiking(nengo.LIFRate()),
        ["LIFRate", "RegularSpiking"],
    ),
    "RegularSpiking(Tanh)": (
        lambda: nengo.RegularSpiking(nengo.Tanh()),
        ["Tanh", "RegularSpiking"],
    ),
    "StochasticSpiking(RectifiedLinear)": (
        lambda: nengo.StochasticSpiking(nengo.RectifiedLinear()),
        ["RectifiedLinear", "StochasticSpiking"],
    ),
    "StochasticSpiking(Tanh)": (
        lambda: nengo.StochasticSpiking(nengo.Tanh()),
        ["Tanh", "StochasticSpiking"],
    ),
    "StochasticSpiking(Sigmoid)": (
        lambda: nengo.StochasticSpiking(nengo.Sigmoid()),
        ["Sigmoid", "StochasticSpiking"],
    ),
    "PoissonSpiking(LIFRate)": (
        lambda: nengo.PoissonSpiking(nengo.LIFRate()),
        ["LIFRate", "PoissonSpiking"],
    ),
    "PoissonSpiking(AdaptiveLIFRate)": (
        lambda: nengo.PoissonSpiking(nengo.AdaptiveLIFRate(tau_n=0.1, inc_n=0.05)),
        ["AdaptiveLIFRate", "PoissonSpiking"],
    ),
    "PoissonSpiking(Tanh)": (
        lambda: nengo.PoissonSpiking(nengo.Tanh()),
        ["Tanh", "PoissonSpiking"],
    ),
}


def ensemble_network(neuron_type, seed=3):
    """Sine -> Ensemble(neuron_type) -> decoded, with probes on the neurons' output and
    every state variable of the type (the base type's too)."""
    with nengo.Network(seed=seed) as net:
        u = nengo.Node(lambda t: np.sin(8 * t))
        ens = nengo.Ensemble(50, 1, neuron_type=neuron_type)
        nengo.Connection(u, ens)
        probes = [nengo.Probe(ens, synapse=0.01)]
        probes += [nengo.Probe(ens.neurons, attr) for attr in neuron_type.probeable]
    return net, probes


def run_both(net, probes, steps, reset=False, **kwargs):
    with nengo.Simulator(net, progress_bar=False) as ref, nengo_mpi.Simulator(
        net, progress_bar=False, **kwargs
    ) as sim:
        kinds = op_kinds(sim)
        for s in (ref, sim):
            s.run_steps(steps)
            if reset:
                s.reset()
                s.run_steps(steps)
        return kinds, [ref.data[p] for p in probes], [sim.data[p] for p in probes]


#: (rtol, atol relative to the probe's largest value) through whole networks. Here the
#: neurons' inputs come from other kernels (float32 dot products summed in another order)
#: and some states integrate their inputs (RegularSpiking's voltage; LIF's voltage through
#: the sub-step refractory time, times currents of tens), so float32 states drift by a
#: few ulps more than in the one-op tests (3e-6 of the scale at most, measured).
NETWORK_TOLERANCES = {
    np.dtype(np.float64): (1e-12, 1e-12),
    np.dtype(np.float32): (1e-5, 1e-5),
}


@pytest.mark.parametrize("precision", ["64", "32"], indirect=True)
@pytest.mark.parametrize("name", list(NETWORK_TYPES))
def test_network_matches_nengo(name, precision):
    """An Ensemble of each native type, built by nengo's builder, matches nengo.Simulator
    through probes on the decoded value, the output and every state variable; spikes
    match exactly."""
    make, kinds_needed = NETWORK_TYPES[name]
    neuron_type = make()
    net, probes = ensemble_network(neuron_type)
    kinds, expected, got = run_both(net, probes, 300)
    for kind in kinds_needed:
        assert kind in kinds, kinds
    rtol, atol = NETWORK_TOLERANCES[precision]
    for p, a, b in zip(probes, got, expected):
        assert a.dtype == b.dtype == precision, p
        if neuron_type.spiking and p.attr == "output":
            np.testing.assert_array_equal(a, b, err_msg=str(p))
        else:
            scale = max(1, np.abs(b).max())
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=str(p))
    assert np.count_nonzero(expected[1]) > 0


@pytest.mark.parametrize(
    "name", ["StochasticSpiking(RectifiedLinear)", "PoissonSpiking(RectifiedLinear)"]
)
def test_network_stochastic_spikes_exact_any_split(name):
    """Stochastic spikes equal nengo's exactly whichever component the ensemble is on
    (the stream comes from the ensemble's seed, never from the split), and after
    sim.reset() they continue nengo's stream.

    b is driven straight from the Node, so its input is exact: a decoded input would be
    a dot product whose rounding follows BLAS's summation order, and one flipped draw
    comparison would say nothing about the stream."""
    base = nengo.RectifiedLinear(amplitude=1.0)
    types = {
        "StochasticSpiking(RectifiedLinear)": nengo.StochasticSpiking(base),
        "PoissonSpiking(RectifiedLinear)": nengo.PoissonSpiking(base),
    }
    with nengo.Network(seed=11) as net:
        u = nengo.Node(lambda t: np.sin(8 * t))
        a = nengo.Ensemble(40, 1, neuron_type=nengo.LIF())
        b = nengo.Ensemble(40, 1, neuron_type=types[name])
        nengo.Connection(u, a)
        nengo.Connection(u, b)
        probes = [nengo.Probe(b.neurons), nengo.Probe(b.neurons, synapse=0.01)]
    for n in (1, 2):
        kinds, expected, got = run_both(
            net, probes, 200, reset=True, partitioner=nengo_mpi.Partitioner(n)
        )
        assert type(types[name]).__name__ in kinds
        for a_, b_ in zip(got, expected):
            np.testing.assert_array_equal(a_, b_)
        spikes = expected[0]
        assert spikes.shape[0] == 200 and np.count_nonzero(spikes) > 100


def test_each_ensemble_keeps_its_own_stream():
    """Several ensembles of one stochastic neuron type each draw from their own
    generator, exactly as nengo.Simulator(optimize=False). (nengo's op-merge optimizer
    would merge their ops onto the first op's generator, warning that it modified their
    extra state; nengo_mpi's planner never merges neuron types that draw random
    numbers.)"""
    neuron_type = nengo.PoissonSpiking(nengo.LIFRate())
    with nengo.Network(seed=4) as net:
        u = nengo.Node(np.sin)
        ensembles = [nengo.Ensemble(30, 1, neuron_type=neuron_type) for _ in range(3)]
        for ens in ensembles:
            nengo.Connection(u, ens)
        probes = [nengo.Probe(ens.neurons) for ens in ensembles]
    with nengo.Simulator(net, optimize=False, progress_bar=False) as ref:
        ref.run_steps(200)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(200)
        assert op_kinds(sim).count("PoissonSpiking") == 3
    for p in probes:
        np.testing.assert_array_equal(sim.data[p], ref.data[p])
        assert np.count_nonzero(ref.data[p]) > 100
