"""Record which nengo object built which operator.

Nengo's builder is reused unchanged; we only wrap its dispatch so that every operator
added while an object is being built is attributed to the innermost object that can be
placed on a component (an Ensemble, Node, Connection, Probe or LearningRule). The
partition of objects then becomes a partition of operators.
"""

import nengo
from nengo.builder import Builder
from nengo.connection import LearningRule

from .state import KeepsLoweringState, lowering_state

#: Object kinds that own operators. Everything else built inside one of them (neuron
#: types, synapses, solvers, transforms, processes) belongs to the enclosing owner.
OWNER_TYPES = (
    nengo.Ensemble,
    nengo.ensemble.Neurons,
    nengo.Node,
    nengo.Connection,
    nengo.Probe,
    LearningRule,
)


class OwnershipBuilder(KeepsLoweringState, Builder):
    """A `nengo.builder.Builder` that attributes new operators to their owner object.

    The map (operator -> owner object) is kept in the model's
    `nengo_mpi.lower.state.LoweringState`, so one builder can serve any number of
    models.
    """

    @classmethod
    def build(cls, model, obj, *args, **kwargs):
        if not isinstance(obj, OWNER_TYPES):
            return super().build(model, obj, *args, **kwargs)
        owners = lowering_state(model).op_owner
        start = len(model.operators)
        try:
            return super().build(model, obj, *args, **kwargs)
        finally:
            # Nested builds finish first and have already claimed their operators.
            for op in model.operators[start:]:
                owners.setdefault(op, obj)


def op_owners(model):
    """Return the operator -> owner object map recorded while building ``model``.

    Operators built outside any owner (nengo's TimeUpdate, or everything when the model
    was built by a plain builder) are absent from the map.
    """
    return lowering_state(model).op_owner
