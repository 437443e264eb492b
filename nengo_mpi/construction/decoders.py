"""nengo's decoder solve, with LIF rates computed natively.

`build_decoders` follows nengo 4.1's ``nengo.builder.connection.build_decoders`` step for
step (evaluation points, targets, weight-solver targets, the encoded inputs, the solve
through the decoder cache), calling nengo's own functions for each step, and differs in
one place: neuron rates at the evaluation points (most of a solve's time) come from
the engine's `lif_rates` for LIF and LIFRate neurons, which computes nengo's operations
in nengo's order with numpy's own log1p, so the decoders are nengo's to the bit
(``tests/test_build_rates.py`` checks both). Every other neuron type uses its own
``rates``.

Connections out of one ensemble share what their solves have in common (the encoded
points, the rates, nengo's default solver's Cholesky factor: `solve_memo`), and
targets call the connection's function without nengo's per-point attribute lookups;
neither changes a bit of the result.
"""

import numpy as np
import nengo
from nengo.builder.connection import get_eval_points
from nengo.exceptions import BuildError
from nengo.rc import rc
from nengo.transforms import Dense

from .. import _engine
from .solve_memo import (
    lstsq_l2_cholesky, memo_of, rates_of, shares_factor, shares_rates,
)

#: Neuron types whose ``rates`` is exactly LIFRate's step on gain * x + bias (a
#: subclass may change either, so only these classes themselves).
NATIVE_RATES = (nengo.LIF, nengo.LIFRate)


def neuron_rates(neuron_type, x, gain, bias):
    """``neuron_type.rates(x, gain, bias)`` and the number of its nonzero entries."""
    if type(neuron_type) in NATIVE_RATES:
        x = np.asarray(np.atleast_1d(x), dtype=float)
        gain = np.asarray(np.atleast_1d(gain), dtype=float)
        bias = np.asarray(np.atleast_1d(bias), dtype=float)
        if x.ndim == 2 and gain.ndim == 1 and gain.shape == bias.shape == x.shape[1:]:
            return _engine.lif_rates(x, gain, bias, neuron_type.tau_rc,
                                     neuron_type.tau_ref, neuron_type.amplitude)
    activities = neuron_type.rates(x, gain, bias)
    return activities, np.count_nonzero(activities)


def solve_for_decoders(conn, gain, bias, x, targets, rng, memo=None):
    """nengo's ``solve_for_decoders``, with `neuron_rates` (same arguments, so nengo's
    decoder cache wraps it and keys it as nengo's; ``memo``, a `solve_memo.SolveMemo`,
    is not part of the key)."""
    shared = (None if memo is None or not shares_rates(conn.solver)
              else memo.shared_for(x, gain, bias))
    if shared is None:
        activities, nonzero = neuron_rates(conn.pre_obj.neuron_type, x, gain, bias)
    else:
        activities, nonzero = rates_of(
            shared, lambda: neuron_rates(conn.pre_obj.neuron_type, x, gain, bias))
    if nonzero == 0:
        raise BuildError(
            f"Building {conn}: 'activities' matrix is all zero for {conn.pre_obj}. "
            "This is because no evaluation points fall in the firing "
            "ranges of any neurons."
        )
    if shared is not None and shares_factor(conn.solver):
        return lstsq_l2_cholesky(conn.solver, shared, targets)
    return conn.solver(activities, targets, rng=rng)


def get_targets(conn, eval_points, dtype):
    """nengo's ``get_targets``: the connection's function at every evaluation point.
    The same calls in the same order; the function is looked up once, not per point
    (nengo's lookup through its parameter descriptors cost as much as a simple
    function's call)."""
    function = conn.function
    if function is None:
        return eval_points[:, conn.pre_slice].astype(dtype)
    if isinstance(function, np.ndarray):
        return function
    targets = np.zeros((len(eval_points), conn.size_mid), dtype=dtype)
    for i, point in enumerate(eval_points[:, conn.pre_slice]):
        out = function(point)
        if out is None:
            raise BuildError(
                f"Building {conn}: Connection function returned "
                "None. Cannot solve for decoders."
            )
        if isinstance(out, (tuple, list)):
            out = np.hstack(out)
        targets[i] = out
    return targets


def build_decoders(model, conn, rng):
    """``(eval_points, weights, solver_info)`` of ``conn``, as nengo's
    ``build_decoders`` returns them (see the module's docstring)."""
    built_pre = model.params[conn.pre_obj]
    eval_points = get_eval_points(model, conn, rng)
    targets = get_targets(conn, eval_points, dtype=rc.float_dtype)
    if conn.solver.weights and not conn.solver.compositional:
        # The solver finds the whole weight matrix: targets go through the transform
        # and the post ensemble's encoders first.
        if not isinstance(conn.transform, Dense):
            raise BuildError("Non-compositional solvers only work with Dense transforms")
        transform = conn.transform.sample(rng=rng)
        targets = np.dot(targets, transform.T)
        post_encoders = model.params[conn.post_obj].scaled_encoders
        targets = np.dot(targets, post_encoders.T[conn.post_slice])
    memo = memo_of(model)
    if conn.eval_points is None:  # the ensemble's own points, shared with its others
        x = memo.encoded(built_pre, conn.pre_obj.radius)
    else:
        x = np.dot(eval_points, built_pre.encoders.T / conn.pre_obj.radius)
    solve = (model.decoder_cache.wrap_solver(solve_for_decoders) if model.seeded[conn]
             else solve_for_decoders)
    decoders, solver_info = solve(conn, built_pre.gain, built_pre.bias, x, targets,
                                  rng=rng, memo=memo)
    return eval_points, decoders.T, solver_info
