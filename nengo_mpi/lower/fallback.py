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


def fallback_name(op):
    """The name `warn_fallback_names` and the split log know fallback ``op`` by."""
    return describe(fallback_subject(op) or type(op))


def warn_fallbacks(ops):
    """Warn once per class among the given fallback operators."""
    warn_fallback_names(describe(cls) for cls in
                        (fallback_subject(op) for op in ops) if cls is not None)


def warn_fallback_names(names):
    """Warn once per name (`fallback_name`) of the given fallback operators' classes;
    Node functions and Direct-mode ensembles (nengo's SimPyFunc) are not reported."""
    quiet = describe(SimPyFunc)
    for name in dict.fromkeys(names):
        if name == quiet:
            continue
        warnings.warn(
            f"{name} has no native kernel in nengo_mpi; it runs through its "
            "Python implementation, which is slower than the C++ engine",
            PythonFallbackWarning,
            stacklevel=user_stacklevel(),
        )
