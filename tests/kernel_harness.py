"""Shared harness for kernel tests: run a hand-built nengo model in nengo.Simulator and
in nengo_mpi.Simulator side by side and compare every signal after every step.

Each test also checks that the operator under test ran as the expected native kernel,
so a silent fallback to Python fails the test.
"""

import nengo
import numpy as np
from nengo.builder.signal import Signal

import nengo_mpi

DT = 0.001
N_STEPS = 50

#: Tolerances for results whose arithmetic may be ordered differently (sums in dot
#: products, libm vs. numpy's vectorised transcendental functions).
RTOL = 1e-12
ATOL = 1e-12


def op_kinds(sim):
    """The engine's kernel name for each of its operators."""
    eng = sim._runtime.host.engine
    return [eng.op_kind(i) for i in range(eng.n_ops)]


def model_signals(model):
    """Every signal the model's operators touch, plus their bases, without repeats."""
    signals = {}
    for op in model.operators:
        for sig in op.all_signals:
            signals.setdefault(sig, None)
            signals.setdefault(sig.base, None)
    return list(signals)


def assert_signals_match(sim, ref, signals, exact, when):
    """Compare our value of every signal with nengo's."""
    for sig in signals:
        ours, theirs = sim.signals[sig], ref.signals[sig]
        if sig.sparse:
            ours, theirs = ours.toarray(), theirs.toarray()
        msg = f"{sig} after {when}"
        assert np.shape(ours) == np.shape(theirs), msg
        if any(sig is s for s in exact) or np.dtype(sig.dtype).kind in "iub":
            np.testing.assert_array_equal(ours, theirs, err_msg=msg)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=msg)


def run_against_nengo(
    model, kinds, n_steps=N_STEPS, inputs=None, exact=(), record=(), native=True
):
    """Step ``model`` in nengo and nengo_mpi together, comparing after every step.

    Parameters
    ----------
    model : nengo.builder.Model
        The hand-built model.
    kinds : list of str
        Kernel names that must be among the engine's operators.
    n_steps : int
        Number of steps to run.
    inputs : dict, optional
        Signal -> array of shape ``(n_steps,) + signal.shape``, written into both
        simulators before each step (fresh inputs without a Python operator).
    exact : sequence of Signal
        Signals that must match bit for bit (``step`` and ``time`` always must).
    record : sequence of Signal
        Signals whose values (ours) are returned after each step.
    native : bool
        Whether every operator must run natively (no "Python" kernel).

    Returns
    -------
    kinds : list of str
        The engine's kernel names.
    history : dict
        Signal in ``record`` -> array of its values after each step.
    """
    inputs = {} if inputs is None else inputs
    exact = tuple(exact) + (model.step, model.time)
    signals = model_signals(model)
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    history = {sig: [] for sig in record}
    try:
        found = op_kinds(sim)
        for kind in kinds:
            assert kind in found, f"no {kind} kernel among {found}"
        if native:
            assert "Python" not in found, f"an operator fell back to Python: {found}"
        assert_signals_match(sim, ref, signals, exact, "0 steps")
        for i in range(n_steps):
            for sig, values in inputs.items():
                ref.signals[sig][...] = values[i]
                sim.signals[sig][...] = values[i]
            ref.step()
            sim.step()
            assert_signals_match(sim, ref, signals, exact, f"{i + 1} steps")
            for sig in record:
                history[sig].append(np.array(sim.signals[sig]))
        assert sim.n_steps == ref.n_steps == n_steps
    finally:
        sim.close()
        ref.close()
    return found, {sig: np.array(values) for sig, values in history.items()}


def random_signal(rng, shape, name, low=-1.0, high=1.0):
    """A Signal with uniformly random initial values."""
    return Signal(rng.uniform(low, high, size=shape), name=name)


# --- TimeUpdate, Reset --------------------------------------------------------
