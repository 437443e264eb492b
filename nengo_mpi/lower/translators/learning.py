"""Native records for learning rules (nengo's SimPES, SimBCM, SimOja, SimVoja, SimRLS).

Each translator accepts exactly the shapes nengo's own ``make_step`` handles without
broadcasting surprises and declines the rest (the Python fallback then runs nengo's code,
errors included). Scalar factors are computed here with the same Python expressions as
in nengo's ``make_step``; the kernels round them to the signal dtype, which is what numpy
does when it multiplies a float32 array by a Python float. A factor numpy would not round
that way (one outside float32's range, say) makes the translator decline.
"""

import numbers

import numpy as np

from ..layout import same_real_dtype


def _scalar_factor(value, dtype):
    """``value`` as a float if numpy rounds it to ``dtype`` when scaling such an array.

    Returns None otherwise (not a real scalar, or numpy would promote the product).
    """
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or np.ndim(value):
        return None
    if (value * np.zeros(1, dtype=dtype)).dtype != np.dtype(dtype):
        return None
    return float(value)


def _vectors(layout, *sigs):
    """1-D views of 1-D signals, or None if a signal is not 1-D or has no such view."""
    if any(s.ndim != 1 for s in sigs):
        return None
    views = [layout.vector_view(s) for s in sigs]
    return None if any(v is None for v in views) else views


def _matrix(layout, sig, shape):
    """The 2-D view of a 2-D signal of exactly ``shape``, or None."""
    if sig.sparse or sig.ndim != 2 or tuple(sig.shape) != tuple(shape):
        return None
    return layout.matrix_view(sig, shape)


def lower_sim_pes(op, layout, dt):
    pre, error, delta = op.pre_filtered, op.error, op.delta
    if not same_real_dtype(pre, error, delta) or error.ndim != 1:
        return None
    vectors = _vectors(layout, pre, error)
    d = _matrix(layout, delta, (error.size, pre.size))
    n_neurons = pre.shape[0]
    if vectors is None or d is None or n_neurons == 0:
        return None
    alpha = _scalar_factor(-op.learning_rate * dt / n_neurons, delta.dtype)
    if alpha is None:
        return None
    return "add_sim_pes", (*vectors, d, alpha)


def lower_sim_bcm(op, layout, dt):
    pre, post, theta, delta = op.pre_filtered, op.post_filtered, op.theta, op.delta
    if not same_real_dtype(pre, post, theta, delta) or post.shape != theta.shape:
        return None
    vectors = _vectors(layout, pre, post, theta)
    d = _matrix(layout, delta, (post.size, pre.size))
    alpha = _scalar_factor(op.learning_rate * dt, delta.dtype)
    if vectors is None or d is None or alpha is None:
        return None
    return "add_sim_bcm", (*vectors, d, alpha)


def lower_sim_oja(op, layout, dt):
    pre, post, weights, delta = op.pre_filtered, op.post_filtered, op.weights, op.delta
    if not same_real_dtype(pre, post, weights, delta):
        return None
    shape = (post.size, pre.size)
    vectors = _vectors(layout, pre, post)
    w, d = _matrix(layout, weights, shape), _matrix(layout, delta, shape)
    alpha = _scalar_factor(op.learning_rate * dt, delta.dtype)
    beta = _scalar_factor(-op.beta, delta.dtype)
    if vectors is None or w is None or d is None or alpha is None or beta is None:
        return None
    return "add_sim_oja", (*vectors, w, d, alpha, -beta)


def lower_sim_voja(op, layout, dt):
    pre, post, enc = op.pre_decoded, op.post_filtered, op.scaled_encoders
    learning, delta = op.learning_signal, op.delta
    if not same_real_dtype(pre, post, enc, learning, delta) or learning.size != 1:
        return None
    scale = np.asarray(op.scale)
    # numpy computes scale * outer(post, pre) in the wider of the two dtypes; only the
    # builder's case (scale in the signals' dtype) is native.
    if scale.dtype != np.dtype(delta.dtype) or scale.shape != (post.size,):
        return None
    shape = (post.size, pre.size)
    vectors = _vectors(layout, pre, post)
    e, d = _matrix(layout, enc, shape), _matrix(layout, delta, shape)
    lv = layout.vector_view(learning)
    alpha = _scalar_factor(op.learning_rate * dt, delta.dtype)
    if vectors is None or e is None or d is None or lv is None or alpha is None:
        return None
    return "add_sim_voja", (*vectors, e, lv, d, alpha, scale.astype(np.float64).tolist())


def lower_sim_rls(op, layout, dt):
    r, error, delta, P = op.pre_filtered, op.error, op.delta, op.inv_gamma
    # nengo's builder makes P and the error float64 whatever the precision; r and delta
    # follow the precision. The kernel computes in the wider dtype, as numpy does.
    if not (same_real_dtype(r, delta) and same_real_dtype(P, error)):
        return None
    n = r.size
    if error.ndim != 1 or delta.ndim != 2 or error.size not in (1, delta.shape[0]):
        return None
    if P.sparse or not np.array_equal(P.initial_value, P.initial_value.T):
        return None  # nengo's make_step asserts a symmetric P; let it
    vectors = _vectors(layout, r, error)
    d = _matrix(layout, delta, (delta.shape[0], n))
    p = _matrix(layout, P, (n, n))
    if vectors is None or d is None or p is None:
        return None
    return "add_sim_rls", (*vectors, d, p)
