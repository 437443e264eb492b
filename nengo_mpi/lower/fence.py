"""Which operators may merge: the fence that keeps merges within one component.

Two operators merge only when they run on the same one component and every signal they
touch is used on that component alone; otherwise a merged signal would span memory that
another component reads or writes, and a merged operator would have to run in two
places. Neuron types that draw random numbers are never merged: the engine seeds one
stream per operator, and merging would make the draws depend on the partition.
"""

from nengo.builder.neurons import SimNeurons
from nengo.builder.optimizer import OpMerger

from ..kernels import neuron_kernel


def mergeable_kind(op):
    """Whether nengo can merge ops of ``op``'s kind and the result keeps its numbers."""
    if not OpMerger.is_type_mergeable(type(op)):
        return False
    if isinstance(op, SimNeurons):
        # Only a kernel whose step is deterministic and elementwise computes, over the
        # concatenated neurons, exactly what the separate ops would.
        kernel = neuron_kernel(type(op.neurons))
        return kernel is not None and kernel.deterministic
    return True


class ComponentFence:
    """The one component an operator may merge within, if any.

    Parameters
    ----------
    op_components : dict
        Operator -> tuple of the components that run it.
    signal_components : dict
        Base signal -> set of the components whose operators (or probes) use it.
    """

    def __init__(self, op_components, signal_components):
        self.op_components = op_components
        self.signal_components = signal_components
        self._homes = {}

    @classmethod
    def for_model(cls, operators, op_components, probe_components):
        """The fence of ``operators`` split as ``op_components``, probed as given.

        Parameters
        ----------
        operators : list
            Every operator of the model.
        op_components : dict
            Operator -> tuple of the components that run it.
        probe_components : dict
            Base signal -> set of the components that record a probe of it.
        """
        used = {}
        for op in operators:
            cs = op_components.get(op, ())
            for sig in op.all_signals:
                used.setdefault(sig.base, set()).update(cs)
        for base, cs in probe_components.items():
            used.setdefault(base, set()).update(cs)
        return cls(op_components, used)

    def home(self, op):
        """The one component that runs ``op`` and alone uses its signals, or None."""
        home = self._homes.get(op, False)
        if home is False:
            home = self._homes[op] = self._find_home(op)
        return home

    def _find_home(self, op):
        comps = self.op_components.get(op)
        if comps is None or len(comps) != 1:
            return None
        (comp,) = comps
        for sig in op.all_signals:
            if self.signal_components.get(sig.base, {comp}) != {comp}:
                return None
        return comp

    def merge_home(self, op):
        """The component within which ``op`` may merge, or None if it may not merge."""
        return self.home(op) if mergeable_kind(op) else None

    def adopt(self, merged_op, ops):
        """Give ``merged_op``, made of ``ops``, their component.

        Its signals are the old ones or views of bases made of them, all used on that
        component alone, so its home is theirs.
        """
        self.op_components[merged_op] = self.op_components[ops[0]]
        self._homes[merged_op] = self._homes[ops[0]]
