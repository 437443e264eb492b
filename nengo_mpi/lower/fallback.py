"""Say which operators run through Python, and why that matters.

An operator the engine has no kernel for still runs: the engine calls the step function
nengo's own ``make_step`` builds, on views of the engine's memory. That is correct but
slower, so the user hears about it once per class, by name. Node functions and
Direct-mode ensembles (nengo's SimPyFunc) run Python by design and are not reported.
"""

import warnings

from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import SimPyFunc
from nengo.builder.processes import SimProcess

from ..user_frame import user_stacklevel


class PythonFallbackWarning(UserWarning):
    """A model part runs through its Python implementation instead of the C++ engine."""


def fallback_subject(op):
    """The class a user would recognise as the reason ``op`` runs in Python, or None."""
    if isinstance(op, SimPyFunc):
        return None
    if isinstance(op, SimNeurons):
        return type(op.neurons)
    if isinstance(op, SimProcess):
        return type(op.process)
    return type(op)


def describe(cls):
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else (
        f"{module}.{cls.__qualname__}"
    )


def warn_fallbacks(ops):
    """Warn once per class among the given fallback operators."""
    seen = set()
    for op in ops:
        cls = fallback_subject(op)
        if cls is None or cls in seen:
            continue
        seen.add(cls)
        warnings.warn(
            f"{describe(cls)} has no native kernel in nengo_mpi; it runs through its "
            "Python implementation, which is slower than the C++ engine",
            PythonFallbackWarning,
            stacklevel=user_stacklevel(),
        )
