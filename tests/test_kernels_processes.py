"""Native process and synapse kernels against nengo's numpy implementation.

Two kinds of tests, both in nengo's 64- and 32-bit precision:

- hand-built models with one SimProcess (state made by the process's own
  ``make_state``, optionally randomised), stepped in ``nengo.Simulator`` and
  `nengo_mpi.Simulator` side by side with random inputs, comparing every signal after
  every step;
- real networks (a Node whose output is a process, Connections with synapses into
  Ensembles, Ensembles with noise) built by nengo's builder, compared through probes.

Everything is compared bit for bit, except filters in nengo's NoD and General forms:
nengo computes ``A @ X`` and ``C @ X`` with ``np.dot``, i.e. BLAS, whose summation order
and use of fused multiply-adds depend on the CPU's kernel, so those agree to rounding
(float64: 1e-12 relative; float32: a float32 rounding of a double that may differ in its
last bit, fed back through the state).
"""

import warnings

import nengo
import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.processes import SimProcess
from nengo.builder.signal import Signal
from nengo.processes import (
    BrownNoise,
    FilteredNoise,
    Piecewise,
    PresentInput,
    WhiteNoise,
    WhiteSignal,
)
from nengo.synapses import Triangle

import nengo_mpi
from nengo_mpi.lower.translators import processes as process_translators

from kernel_harness import DT, model_signals, op_kinds

N_STEPS = 120

#: Tolerances for NoD / General filters (see the module docstring), per precision.
BLAS_TOL = {"64": dict(rtol=1e-12, atol=1e-12), "32": dict(rtol=2e-6, atol=2e-6)}


@pytest.fixture(params=["64", "32"])
def bits(request):
    """Run the test under nengo's 64- or 32-bit precision (rc "precision" "bits")."""
    old = nengo.rc.get("precision", "bits")
    nengo.rc.set("precision", "bits", request.param)
    try:
        yield request.param
    finally:
        nengo.rc.set("precision", "bits", str(old))


def float_dtype():
    return nengo.rc.float_dtype


def assert_same(ours, theirs, msg, tol=None):
    if tol is None:
        np.testing.assert_array_equal(ours, theirs, err_msg=msg)
    else:
        np.testing.assert_allclose(ours, theirs, err_msg=msg, **tol)


def step_against_nengo(model, kinds, n_steps=N_STEPS, inputs=None, tol=None):
    """Step ``model`` in nengo and nengo_mpi together; compare every signal each step.

    ``tol`` None means bit for bit. Every operator must run natively and ``kinds`` must
    be among them.
    """
    inputs = {} if inputs is None else inputs
    signals = model_signals(model)
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)

    def check(when):
        for sig in signals:
            exact = tol is None or np.dtype(sig.dtype).kind in "iub"
            assert_same(sim.signals[sig], ref.signals[sig], f"{sig} after {when}",
                        None if exact else tol)

    try:
        found = op_kinds(sim)
        for kind in kinds:
            assert kind in found, f"no {kind} kernel among {found}"
        assert "Python" not in found, f"an operator fell back to Python: {found}"
        check("0 steps")
        for i in range(n_steps):
            for sig, values in inputs.items():
                ref.signals[sig][...] = values[i]
                sim.signals[sig][...] = values[i]
            ref.step()
            sim.step()
            check(f"{i + 1} steps")
    finally:
        sim.close()
        ref.close()


def process_model(process, shape_in, shape_out, mode, rng, random_state=False, **state_kw):
    """A model with one SimProcess of ``process``; its state comes from make_state.

    The output starts random, so "inc" and "set" differ from the first step.
    """
    dtype = float_dtype()
    model = Model(dt=DT)
    u = None if shape_in is None else Signal(np.zeros(shape_in, dtype=dtype), name="u")
    y = Signal(rng.uniform(-1, 1, size=shape_out).astype(dtype), name="y")
    state_init = process.make_state(
        (0,) if shape_in is None else shape_in, shape_out, DT, dtype=dtype, **state_kw
    )
    state = {}
    for name, value in state_init.items():
        if random_state and name == "Xi":  # Triangle's tap counter: a valid position
            value = np.array([rng.randint(len(state_init["X"]))], dtype=dtype)
        elif random_state:
            value = rng.uniform(-1, 1, size=value.shape).astype(dtype)
        state[name] = Signal(value, name=name)
    model.add_op(SimProcess(process, u, y, model.time, mode=mode, state=state))
    return model, u, y, state


def random_inputs(rng, u, n_steps=N_STEPS):
    return {u: rng.uniform(-1, 1, size=(n_steps,) + u.shape).astype(u.dtype)}


# --- LinearFilter, Lowpass, Alpha ---------------------------------------------

FILTERS = {
    # name: (process, nengo's step form for it)
    "lowpass": (nengo.Lowpass(0.005), "OneX"),
    "alpha": (nengo.Alpha(0.004), "NoD"),
    "passthrough": (nengo.LinearFilter([1], [1]), "NoX"),
    "gain": (nengo.LinearFilter([2.5], [1]), "NoX"),
    # a gain float32 cannot hold: nengo multiplies in float32 with the gain rounded
    "gain-inexact": (nengo.LinearFilter([0.3], [1]), "NoX"),
    "general": (nengo.LinearFilter([1, 0.5], [0.01, 1]), "General"),
    "general-2nd-order": (
        nengo.LinearFilter([0.3, 1, 2], [0.002, 0.05, 1]),
        "General",
    ),
    "nod-3rd-order": (nengo.LinearFilter([1], [1e-6, 3e-4, 0.03, 1]), "NoD"),
    "digital": (nengo.LinearFilter([0.5], [1, -0.5], analog=False), "OneX"),
}


def filter_tol(name, bits):
    return BLAS_TOL[bits] if FILTERS[name][1] in ("NoD", "General") else None


#: (filter, mode) pairs that nengo itself can run (see test_linear_filter_general_inc).
FILTER_MODES = [
    pytest.param(name, mode, id=f"{name}-{mode}")
    for name, (_, form) in FILTERS.items()
    for mode in ["set", "inc", "update"]
    if not (form == "General" and mode == "inc")
]


@pytest.mark.parametrize("random_state", [False, True], ids=["zero-X", "random-X"])
@pytest.mark.parametrize("name, mode", FILTER_MODES)
def test_linear_filter(rng, bits, name, mode, random_state):
    """LinearFilter in each step form and write mode, from zero or random state."""
    process, form = FILTERS[name]
    n = 6
    model, u, _, state = process_model(process, (n,), (n,), mode, rng, random_state)
    # the premise: nengo steps this filter in the form we mean to test
    X = state["X"].initial_value.copy()
    step = process.make_step((n,), (n,), DT, None, {"X": X})
    assert type(step) is getattr(nengo.LinearFilter, form)
    step_against_nengo(model, ["LinearFilter"], inputs=random_inputs(rng, u),
                       tol=filter_tol(name, bits))


@pytest.mark.parametrize("name", ["lowpass", "alpha", "general", "digital", "gain-inexact"])
def test_linear_filter_single_element(rng, bits, name):
    """A one-element filter (for OneX, nengo's OneXScalar: Python float math)."""
    process, form = FILTERS[name]
    model, u, _, state = process_model(process, (1,), (1,), "set", rng, random_state=True)
    if form == "OneX":
        step = process.make_step((1,), (1,), DT, None, {"X": state["X"].initial_value.copy()})
        assert type(step) is nengo.LinearFilter.OneXScalar
    step_against_nengo(model, ["LinearFilter"], inputs=random_inputs(rng, u),
                       tol=filter_tol(name, bits))


@pytest.mark.parametrize("name", ["lowpass", "alpha", "general", "digital"])
def test_linear_filter_steady_state(rng, bits, name):
    """A state made by make_state(y0=...): nengo's initial output of a filter."""
    process, _ = FILTERS[name]
    n = 5
    y0 = rng.uniform(-1, 1, size=n)
    model, u, _, state = process_model(process, (n,), (n,), "set", rng, y0=y0)
    assert np.any(state["X"].initial_value != 0)  # the premise: y0 set a state
    inputs = {u: np.tile(y0.astype(u.dtype), (N_STEPS, 1))}
    step_against_nengo(model, ["LinearFilter"], inputs=inputs, tol=filter_tol(name, bits))


def test_linear_filter_float32_rounding(rng):
    """The premise of the 32-bit tests: nengo's float32 OneX step is not the float64
    expression rounded once, so a kernel computing that would fail them."""
    process = nengo.Lowpass(0.0123)
    A, B, C, _ = process._get_ss(DT)
    n = 1000
    X = rng.uniform(-1, 1, size=(1, n)).astype(np.float32)
    u = rng.uniform(-1, 1, size=n).astype(np.float32)
    expected = (A.item() * X[0].astype(float) + C.item() * B.item() * u).astype(np.float32)
    step = process.make_step((n,), (n,), DT, None, {"X": X})
    assert np.any(step(0.0, u) != expected)


@pytest.mark.parametrize("name", ["general", "general-2nd-order"])
def test_linear_filter_general_inc(rng, bits, name):
    """A General-form filter in "inc" mode adds nengo's "set"-mode output every step.

    nengo 4.1 cannot run this case itself (its General step returns shape (1, n), which
    ``output[...] +=`` cannot broadcast into (n,)), so the reference is the output of
    nengo's "set" mode accumulated onto the initial output (in float32 that rounds the
    output before adding, where the kernel adds the float64 output: hence tolerances).
    """
    process, _ = FILTERS[name]
    n = 6
    dtype = float_dtype()
    x0 = rng.uniform(-1, 1, size=process.make_state((n,), (n,), DT)["X"].shape)
    y0 = rng.uniform(-1, 1, size=n)
    inputs = rng.uniform(-1, 1, size=(N_STEPS, n))

    def make(mode, y_init):
        model = Model(dt=DT)
        u = Signal(np.zeros(n, dtype=dtype), name="u")
        y = Signal(y_init.astype(dtype), name="y")
        X = Signal(x0.astype(dtype), name="X")
        model.add_op(SimProcess(process, u, y, model.time, mode=mode, state={"X": X}))
        return model, u, y, X

    ref_model, ref_u, ref_y, ref_X = make("set", np.zeros(n))
    model, u, y, X = make("inc", y0)
    ref = nengo.Simulator(None, model=ref_model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    tol = BLAS_TOL[bits] if bits == "64" else dict(rtol=1e-5, atol=1e-5)
    try:
        kinds = op_kinds(sim)
        assert "LinearFilter" in kinds and "Python" not in kinds, kinds
        expected = y0.astype(dtype)
        for i in range(N_STEPS):
            ref.signals[ref_u][...] = inputs[i]
            sim.signals[u][...] = inputs[i]
            ref.step()
            sim.step()
            expected = expected + ref.signals[ref_y]
            msg = f"after {i + 1} steps"
            assert_same(sim.signals[y], expected, msg, tol)
            assert_same(sim.signals[X], ref.signals[ref_X], msg, BLAS_TOL[bits])
    finally:
        sim.close()
        ref.close()


@pytest.mark.parametrize("mode", ["set", "update"])
@pytest.mark.parametrize("name", ["lowpass", "alpha", "general", "gain-inexact"])
def test_linear_filter_views(rng, bits, name, mode):
    """A filter reading and writing strided views of larger signals."""
    process, _ = FILTERS[name]
    dtype = float_dtype()
    big_u = Signal(np.zeros(15, dtype=dtype), name="big_u")
    big_y = Signal(rng.uniform(-1, 1, size=16).astype(dtype), name="big_y")
    u, y = big_u[::3], big_y[15:0:-3]
    model = Model(dt=DT)
    X = process.make_state(u.shape, y.shape, DT, dtype=dtype)["X"]
    X = Signal(rng.uniform(-1, 1, size=X.shape).astype(dtype), name="X")
    model.add_op(SimProcess(process, u, y, model.time, mode=mode, state={"X": X}))
    step_against_nengo(model, ["LinearFilter"], inputs=random_inputs(rng, big_u),
                       tol=filter_tol(name, bits))


@pytest.mark.parametrize("name", ["lowpass", "alpha", "general", "gain-inexact"])
def test_linear_filter_2d(rng, bits, name):
    """A filter of a 2-D signal, whose state X has shape (k, rows, cols)."""
    process, _ = FILTERS[name]
    model, u, _, state = process_model(process, (3, 4), (3, 4), "update", rng, True)
    if "X" in state and state["X"].size:
        assert state["X"].ndim == 3
    step_against_nengo(model, ["LinearFilter"], inputs=random_inputs(rng, u),
                       tol=filter_tol(name, bits))


# --- Triangle -------------------------------------------------------------------


@pytest.mark.parametrize("random_state", [False, True], ids=["zero", "random"])
@pytest.mark.parametrize("mode", ["set", "inc", "update"])
@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("t", [0.0, 0.005, 0.0234, 0.2])
def test_triangle(rng, bits, t, n, mode, random_state):
    """Triangle over 1 to 201 taps, one element (numpy's pairwise X.sum) or several
    (row by row), in each mode, from zero or random state."""
    process = Triangle(t)
    model, u, _, state = process_model(process, (n,), (n,), mode, rng, random_state)
    assert len(state["X"].initial_value) == int(np.round(t / DT)) + 1
    step_against_nengo(model, ["Triangle"], n_steps=250 if t == 0.2 else N_STEPS,
                       inputs=random_inputs(rng, u, 250))


@pytest.mark.parametrize("shape", [(1, 1), (2, 3)])
def test_triangle_2d(rng, bits, shape):
    """A Triangle of a 2-D signal (state X of shape (n_taps, rows, cols))."""
    model, u, _, _ = process_model(Triangle(0.03), shape, shape, "update", rng, True)
    step_against_nengo(model, ["Triangle"], inputs=random_inputs(rng, u))


def test_triangle_steady_state(rng, bits):
    """A Triangle state made by make_state(y0=...)."""
    process = Triangle(0.01)
    y0 = rng.uniform(-1, 1)  # nengo's Triangle.make_state takes a scalar y0
    model, u, _, state = process_model(process, (3,), (3,), "set", rng, y0=y0)
    assert np.all(state["Y"].initial_value != 0)
    step_against_nengo(model, ["Triangle"], inputs=random_inputs(rng, u))


# --- WhiteNoise, FilteredNoise, BrownNoise -------------------------------------

DISTS = {
    "gaussian": nengo.dists.Gaussian(0.3, 1.7),
    "uniform": nengo.dists.Uniform(-0.5, 1.25),
}

NOISE_SYNAPSES = {
    "lowpass": nengo.Lowpass(0.004),
    "alpha": nengo.Alpha(0.003),
    "general": nengo.LinearFilter([1, 0.5], [0.01, 1]),
    "gain-inexact": nengo.LinearFilter([0.3], [1]),
    "triangle": Triangle(0.01),
    "triangle-long": Triangle(0.15),
}


@pytest.mark.parametrize("mode", ["set", "inc", "update"])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("dist", list(DISTS))
@pytest.mark.parametrize("n", [1, 5])
def test_white_noise(rng, bits, n, dist, scale, mode):
    """WhiteNoise draws nengo's numbers from the process's seed."""
    process = WhiteNoise(dist=DISTS[dist], scale=scale, seed=rng.randint(2**31))
    model, *_ = process_model(process, None, (n,), mode, rng)
    step_against_nengo(model, ["WhiteNoise"])


#: General-form filters in "inc" mode fail in nengo itself (see
#: test_linear_filter_general_inc).
NOISE_MODES = [
    pytest.param(synapse, mode, id=f"{synapse}-{mode}")
    for synapse in NOISE_SYNAPSES
    for mode in ["set", "inc"]
    if not (synapse == "general" and mode == "inc")
]


@pytest.mark.parametrize("dist", list(DISTS))
@pytest.mark.parametrize("synapse, mode", NOISE_MODES)
@pytest.mark.parametrize("n", [1, 4])
def test_filtered_noise(rng, bits, n, synapse, mode, dist):
    """FilteredNoise filters float64 noise into the signal's dtype."""
    process = FilteredNoise(synapse=NOISE_SYNAPSES[synapse], dist=DISTS[dist],
                            scale=bool(rng.randint(2)), seed=rng.randint(2**31))
    model, *_ = process_model(process, None, (n,), mode, rng, random_state=True)
    tol = BLAS_TOL[bits] if synapse in ("alpha", "general") else None
    step_against_nengo(model, ["FilteredNoise"], n_steps=200, tol=tol)


@pytest.mark.parametrize("n", [1, 3])
def test_brown_noise(rng, bits, n):
    process = BrownNoise(seed=rng.randint(2**31))
    model, *_ = process_model(process, None, (n,), "set", rng)
    step_against_nengo(model, ["FilteredNoise"], n_steps=300)


@pytest.mark.parametrize(
    "dist",
    [
        nengo.dists.Exponential(0.5),
        nengo.dists.Uniform(-3, 3, integer=True),
        nengo.dists.Choice(np.linspace(-1, 1, 12).reshape(3, 4)),
    ],
    ids=["exponential", "integer-uniform", "choice"],
)
def test_noise_other_dists_fall_back(rng, dist):
    """Distributions the engine does not sample run nengo's own step (and match)."""
    process = WhiteNoise(dist=dist, scale=False, seed=rng.randint(2**31))
    model, _, y, _ = process_model(process, None, (4,), "set", rng)
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    with ref, nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
        assert "Python" in op_kinds(sim) and "WhiteNoise" not in op_kinds(sim)
        for _ in range(20):
            ref.step()
            sim.step()
            np.testing.assert_array_equal(sim.signals[y], ref.signals[y])


def test_filtered_noise_other_synapse_falls_back(rng):
    """A synapse without a native core (here a LinearFilter subclass) falls back."""

    class MyLowpass(nengo.Lowpass):
        pass

    process = FilteredNoise(synapse=MyLowpass(0.01), seed=1)
    model, *_ = process_model(process, None, (2,), "set", rng)
    with nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
        assert "FilteredNoise" not in op_kinds(sim) and "Python" in op_kinds(sim)


# --- WhiteSignal, PresentInput, Piecewise --------------------------------------


@pytest.mark.parametrize("mode", ["set", "inc", "update"])
@pytest.mark.parametrize("y0", [None, 0.3])
@pytest.mark.parametrize("shape", [(1,), (3,), (2, 2)])
def test_white_signal(rng, bits, shape, y0, mode):
    """WhiteSignal plays nengo's signal back, past its period (it repeats)."""
    process = WhiteSignal(0.05, high=60, rms=0.7, y0=y0, seed=rng.randint(2**31))
    model, *_ = process_model(process, None, shape, mode, rng)
    step_against_nengo(model, ["WhiteSignal"], n_steps=130)


def test_white_signal_above_nyquist_raises():
    """nengo's own error (from make_step) is left to nengo's code."""
    with nengo.Network() as net:
        nengo.Node(WhiteSignal(1.0, high=600, seed=1))
    with pytest.raises(nengo.exceptions.ValidationError, match="Nyquist"):
        nengo_mpi.Simulator(net, progress_bar=False)


def test_a_white_signal_translator_error_surfaces(monkeypatch):
    """An error in our own translation (here, reading the signal nengo drew) is raised,
    not turned into a silent Python fallback."""
    def broken(*args):
        raise RuntimeError("a translator bug")

    monkeypatch.setattr(process_translators, "_closure_value", broken)
    with nengo.Network() as net:
        nengo.Node(WhiteSignal(1.0, high=5, seed=1))
    with pytest.raises(RuntimeError, match="a translator bug"):
        nengo_mpi.Simulator(net, progress_bar=False)


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("presentation_time", [0.003, 0.0037, 0.01])
@pytest.mark.parametrize("kind", ["float", "int", "2d"])
def test_present_input(rng, bits, kind, presentation_time, mode):
    """PresentInput's index arithmetic, including presentation times that are whole
    numbers of steps (where nengo's 1e-7 decides) and that are not."""
    if kind == "float":
        inputs = rng.uniform(-1, 1, size=(5, 3))
    elif kind == "int":
        inputs = rng.randint(-5, 5, size=(4, 2))
    else:
        inputs = rng.uniform(-1, 1, size=(3, 2, 2))
    process = PresentInput(inputs, presentation_time)
    model, *_ = process_model(process, None, (inputs[0].size,), mode, rng)
    step_against_nengo(model, ["PresentInput"])


PIECEWISE = {
    # keys: before/at/between steps, a key exactly half a step after a step time
    # (where nengo's t + 0.5 dt meets it), values of mixed types
    "floats": {0.0: [1.0, 2.0], 0.0105: [-1.0, 0.5], 0.0203: [0.25, 3.0], 0.06: [0, 0]},
    "late-start": {0.02: [1.5, -2.0], 0.04: [0.3, 0.7]},
    "ints": {0: 1, 0.025: -2, 0.05: 3},
    "int-keys": {0: [0.1, 0.2, 0.3], 1: [1, 2, 3]},
}
INTERPOLATED = {
    "floats": {0.0: [1.0, 2.0], 0.013: [-1.0, 0.5], 0.0203: [0.25, 3.0],
               0.041: [1.0, 1.0], 0.0575: [0.0, -0.5]},
    "ints": {0: 1, 0.02: -2, 0.03: 3, 0.05: 0, 0.07: 2},
}


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("data", list(PIECEWISE))
def test_piecewise_zero(rng, bits, data, mode):
    process = Piecewise(PIECEWISE[data])
    model, *_ = process_model(process, None, (process.size_out,), mode, rng)
    step_against_nengo(model, ["Piecewise"])


@pytest.mark.parametrize("mode", ["set", "inc"])
@pytest.mark.parametrize("data", list(INTERPOLATED))
@pytest.mark.parametrize("kind", ["linear", "nearest", "slinear", "quadratic", "cubic"])
def test_piecewise_interpolated(rng, bits, kind, data, mode):
    """Interpolated Piecewise: values up to the last breakpoint, zero after it."""
    process = Piecewise(INTERPOLATED[data], interpolation=kind)
    model, *_ = process_model(process, None, (process.size_out,), mode, rng)
    step_against_nengo(model, ["Piecewise"])


def test_piecewise_cubic_warning_kept(rng):
    """nengo's warning for cubic interpolation without t=0 still comes (at build)."""
    process = Piecewise({0.01: 1, 0.02: 2, 0.03: 0, 0.04: 1}, interpolation="cubic")
    with nengo.Network() as net:
        nengo.Node(process)
    with pytest.warns(UserWarning, match="cubic"):
        with nengo_mpi.Simulator(net, progress_bar=False) as sim:
            assert "Piecewise" in op_kinds(sim)


def test_piecewise_long_interpolation_falls_back(rng):
    """An interpolated Piecewise too long to tabulate runs nengo's step instead."""
    process = Piecewise({0: 0.0, 1e6: 1.0}, interpolation="linear")
    model, _, y, _ = process_model(process, None, (1,), "set", rng)
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    with ref, nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
        assert "Piecewise" not in op_kinds(sim) and "Python" in op_kinds(sim)
        ref.run_steps(20)
        sim.run_steps(20)
        np.testing.assert_array_equal(sim.signals[y], ref.signals[y])


def test_piecewise_callable_falls_back(rng):
    """A callable value is a Python call every step: nengo's step runs it."""
    process = Piecewise({0: np.sin, 0.02: [0.5]})
    model, _, y, _ = process_model(process, None, (1,), "set", rng)
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    with ref, nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
        assert "Piecewise" not in op_kinds(sim) and "Python" in op_kinds(sim)
        ref.run_steps(40)
        sim.run_steps(40)
        np.testing.assert_array_equal(sim.signals[y], ref.signals[y])


# --- Real networks ---------------------------------------------------------------


def node_processes(seed):
    """A seeded process of each native kind, with its output size."""
    rng = np.random.RandomState(seed)
    seeds = rng.randint(2**31, size=8)
    return {
        "white-noise": (WhiteNoise(seed=seeds[0]), 3),
        "white-noise-uniform": (
            WhiteNoise(nengo.dists.Uniform(-1, 1), scale=False, seed=seeds[1]), 2),
        "filtered-noise": (FilteredNoise(seed=seeds[2]), 2),
        "filtered-noise-triangle": (
            FilteredNoise(synapse=Triangle(0.02), seed=seeds[3]), 2),
        "brown-noise": (BrownNoise(seed=seeds[4]), 1),
        "white-signal": (WhiteSignal(0.2, high=10, seed=seeds[5]), 2),
        "present-input": (PresentInput(rng.uniform(-1, 1, size=(4, 2)), 0.05), 2),
        "piecewise": (Piecewise({0.05: [0.5, -0.5], 0.15: [1, 0.2]}), 2),
        "piecewise-cubic": (
            Piecewise({0: [0, 1], 0.1: [1, 0], 0.2: [0.5, 0.5], 0.3: [0, 0]},
                      interpolation="cubic"), 2),
    }


NATIVE_KINDS = {"WhiteNoise", "FilteredNoise", "WhiteSignal", "PresentInput",
                "Piecewise", "LinearFilter", "Triangle"}


def test_network_node_processes(bits):
    """Nodes whose output is a process, probed, against nengo.Simulator."""
    with nengo.Network(seed=3) as net:
        probes = {}
        for name, (process, size) in node_processes(7).items():
            node = nengo.Node(process, size_out=size, label=name)
            probes[name] = nengo.Probe(node)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(400)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(400)
        kinds = op_kinds(sim)
    assert "Python" not in kinds, kinds
    for name, probe in probes.items():
        np.testing.assert_array_equal(sim.data[probe], ref.data[probe], err_msg=name)
        assert sim.data[probe].dtype == float_dtype()


SYNAPSES = {
    "lowpass": (nengo.Lowpass(0.005), None),
    "alpha": (nengo.Alpha(0.004), "blas"),
    "general": (nengo.LinearFilter([1, 0.5], [0.01, 1]), "blas"),
    "gain-inexact": (nengo.LinearFilter([0.3], [1]), None),
    "triangle": (Triangle(0.01), None),
    "triangle-long": (Triangle(0.13), None),
}


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_network_synapses(bits, synapse):
    """Connection synapses (into a passthrough Node and into an Ensemble) and a probe
    synapse, on a noisy signal; the Ensemble also gets a noise process."""
    syn, tol = SYNAPSES[synapse]
    tol = None if tol is None else BLAS_TOL[bits]
    with nengo.Network(seed=5) as net:
        stim = nengo.Node(WhiteSignal(0.5, high=8, seed=2), size_out=2)
        noise = nengo.Node(WhiteNoise(seed=3), size_out=2)
        filtered = nengo.Node(size_in=2)
        nengo.Connection(stim, filtered, synapse=syn)
        nengo.Connection(noise, filtered, synapse=syn, transform=0.01)
        # (nengo cannot "inc" through a General-form filter, so not as noise)
        noise_syn = nengo.Lowpass(0.01) if synapse == "general" else syn
        ens = nengo.Ensemble(40, 2, noise=FilteredNoise(seed=4, synapse=noise_syn))
        nengo.Connection(filtered, ens, synapse=syn)
        p_filtered = nengo.Probe(filtered)
        p_probe_synapse = nengo.Probe(stim, synapse=syn)
        p_spikes = nengo.Probe(ens.neurons)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(300)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(300)
        kinds = op_kinds(sim)
    assert "Python" not in kinds, kinds
    assert {"FilteredNoise", "WhiteNoise", "WhiteSignal"} <= set(kinds)
    assert ("Triangle" if "triangle" in synapse else "LinearFilter") in kinds
    for probe in (p_filtered, p_probe_synapse):
        assert_same(sim.data[probe], ref.data[probe], str(probe), tol)
    # the premise: the noise made neurons spike, the same ones at the same steps
    assert np.any(ref.data[p_spikes] > 0)
    np.testing.assert_array_equal(sim.data[p_spikes], ref.data[p_spikes])


@pytest.mark.parametrize(
    "noise",
    [WhiteNoise(seed=11), WhiteNoise(nengo.dists.Uniform(-2, 2), seed=12),
     FilteredNoise(seed=13), BrownNoise(seed=14)],
    ids=["white", "white-uniform", "filtered", "brown"],
)
def test_network_ensemble_noise(bits, noise):
    """Ensemble(noise=process): an "inc" into the neurons' input."""
    with nengo.Network(seed=8) as net:
        ens = nengo.Ensemble(30, 1, noise=noise)
        p_spikes = nengo.Probe(ens.neurons)
        p_input = nengo.Probe(ens.neurons, "input")
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(300)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(300)
        kinds = op_kinds(sim)
    assert "Python" not in kinds, kinds
    assert np.any(ref.data[p_spikes] > 0)
    np.testing.assert_array_equal(sim.data[p_spikes], ref.data[p_spikes])
    np.testing.assert_array_equal(sim.data[p_input], ref.data[p_input])


# --- Seeding: reset, seedless processes, splits ----------------------------------


def seedless_network():
    """Processes without seeds draw from the op's slot generator (nengo_mpi's rule)."""
    with nengo.Network(seed=21) as net:
        probes = []
        for process, size in [
            (WhiteNoise(), 2),
            (FilteredNoise(synapse=Triangle(0.005)), 2),
            (BrownNoise(), 1),
            (WhiteSignal(0.1, high=20), 2),
        ]:
            node = nengo.Node(process, size_out=size)
            probes.append(nengo.Probe(node))
        ens = nengo.Ensemble(20, 1, noise=WhiteNoise())
        probes.append(nengo.Probe(ens.neurons))
    return net, probes


def run_data(sim, probes, steps=150):
    sim.run_steps(steps)
    return [np.array(sim.data[p]) for p in probes]


def test_seedless_streams_match_fallback(bits, monkeypatch):
    """Native ops draw exactly what nengo's own step would from the same slot rng."""
    net, probes = seedless_network()
    with nengo_mpi.Simulator(net, seed=4, progress_bar=False) as sim:
        assert "Python" not in op_kinds(sim)
        native = run_data(sim, probes)
    monkeypatch.setattr(process_translators, "LOWERINGS", {})
    with nengo_mpi.Simulator(net, seed=4, progress_bar=False) as sim:
        assert "Python" in op_kinds(sim)  # the premise: nengo's own steps ran
        fallback = run_data(sim, probes)
    for ours, theirs in zip(native, fallback):
        np.testing.assert_array_equal(ours, theirs)


def test_reset_reproduces_run(bits):
    """reset() replays the run; reset(seed) equals a new simulator with that seed."""
    net, probes = seedless_network()
    with nengo_mpi.Simulator(net, seed=4, progress_bar=False) as sim:
        first = run_data(sim, probes)
        sim.reset()
        again = run_data(sim, probes)
        sim.reset(seed=5)
        reseeded = run_data(sim, probes)
    with nengo_mpi.Simulator(net, seed=5, progress_bar=False) as sim:
        fresh = run_data(sim, probes)
    for a, b, c, d in zip(first, again, reseeded, fresh):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, d)
    # the premise: the seed matters for every seedless process (spikes aside)
    for a, c in zip(first[:-1], reseeded[:-1]):
        assert not np.array_equal(a, c)


def test_streams_independent_of_split():
    """Components do not change any process's numbers."""
    net, probes = seedless_network()
    with nengo_mpi.Simulator(net, seed=9, progress_bar=False) as sim:
        one = run_data(sim, probes)
    objs = net.all_nodes + net.all_ensembles
    assignments = {obj: i % 3 for i, obj in enumerate(objs)}
    with nengo_mpi.Simulator(net, seed=9, progress_bar=False,
                             partitioner=nengo_mpi.Partitioner(3),
                             assignments=assignments) as sim:
        assert sim.n_components == 3
        three = run_data(sim, probes)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


def test_seeded_processes_ignore_simulator_seed():
    """A process with a seed gives the same numbers whatever the simulator seed."""
    with nengo.Network() as net:
        p = nengo.Probe(nengo.Node(WhiteSignal(0.1, high=20, seed=3), size_out=2))
        q = nengo.Probe(nengo.Node(WhiteNoise(seed=4), size_out=2))
    data = []
    for seed in (1, 2):
        with nengo_mpi.Simulator(net, seed=seed, progress_bar=False) as sim:
            data.append(run_data(sim, [p, q], 50))
    for a, b in zip(*data):
        np.testing.assert_array_equal(a, b)


def test_declines_input_to_inputless_process(rng):
    """A process given an input nengo's step rejects runs nengo's step (which raises)."""
    with nengo.Network() as net:
        nengo.Node(WhiteNoise(seed=1), size_in=2, size_out=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError):
            nengo_mpi.Simulator(net, progress_bar=False)
