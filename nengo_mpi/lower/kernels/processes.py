"""Native records for processes and synapses (nengo's SimProcess)."""

import numpy as np
import nengo
from nengo.builder.processes import SimProcess

from ..layout import same_real_dtype

#: LinearFilter step forms in the engine's numbering (cpp/ops/synapses.hpp).
FILTER_FORMS = {"NoX": 0, "OneX": 1, "NoD": 2, "General": 3}
WRITE_MODES = {"set": 0, "inc": 1, "update": 2}


def _filter_form(A, B, C, D, X):
    """nengo's own choice of step form for these matrices (same checks, same order)."""
    lf = nengo.LinearFilter
    if lf.NoX.check(A, B, C, D, X):
        return "NoX"
    if lf.OneX.check(A, B, C, D, X):  # OneXScalar is OneX for a single element
        return "OneX"
    if lf.NoD.check(A, B, C, D, X):
        return "NoD"
    if lf.General.check(A, B, C, D, X):
        return "General"
    return None


def lower_sim_process(op, layout, dt):
    process = op.process
    if type(process) not in (nengo.LinearFilter, nengo.Lowpass, nengo.Alpha):
        return None
    u, y = op.input, op.output
    state = op.state
    if u is None or set(state) != {"X"} or u.size != y.size:
        return None
    X = state["X"]
    if not same_real_dtype(u, y, X):
        return None
    A, B, C, D = process._get_ss(dt)  # the same discretisation nengo's make_step uses
    form = _filter_form(A, B, C, D, X.initial_value)
    if form is None:
        return None
    uv, yv = layout.vector_view(u), layout.vector_view(y)
    k = A.shape[0]
    xv = -1
    if form != "NoX":
        xv = layout.matrix_view(X, (k, y.size))
    if uv is None or yv is None or xv is None:
        return None
    return "add_linear_filter", (
        uv,
        yv,
        xv,
        FILTER_FORMS[form],
        WRITE_MODES[op.mode],
        np.asarray(A, dtype=np.float64).ravel().tolist(),
        np.asarray(B, dtype=np.float64).ravel().tolist(),
        np.asarray(C, dtype=np.float64).ravel().tolist(),
        float(np.asarray(D).item()),
    )


TRANSLATORS = {SimProcess: lower_sim_process}
