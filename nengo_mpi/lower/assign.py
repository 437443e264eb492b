"""Assign every operator to the component(s) that execute it.

Objects are assigned by the partitioner; operators follow the object that built them.
A connection is split at its synapse: everything up to and including the synapse runs
with the pre object, the final copy into the post object's input runs with the post
object. That way the only value that crosses is the synapse's output, which is written
by an update operator and so is needed one step later, never in the same step.
"""

import nengo
from nengo.builder.operator import TimeUpdate
from nengo.builder.probe import SimProbe
from nengo.connection import LearningRule

from .ownership import op_owners
from .state import lowering_state


class OperatorAssigner:
    """Maps operators to components, given the object -> component assignment.

    Parameters
    ----------
    model : nengo.builder.Model
        The built model (its operators' owners come from `.OwnershipBuilder`).
    obj_components : dict
        Ensemble/Node -> component. Objects not in it (e.g. models built by hand) go to 0.
    n_components : int
        Number of components.
    """

    def __init__(self, model, obj_components, n_components):
        self.model = model
        self.owners = op_owners(model)
        self.made = lowering_state(model).op_components
        self.obj_components = obj_components
        self.n_components = n_components
        # Lowering asks for each operator's components several times (merging, ordering,
        # channels); an operator's components never change (merged and tiled operators
        # are new operators).
        self._known = {}

    def component_of(self, obj):
        """The component that holds ``obj``'s own signals."""
        if isinstance(obj, (nengo.Ensemble, nengo.Node)):
            return self.obj_components.get(obj, 0)
        if isinstance(obj, nengo.ensemble.Neurons):
            return self.component_of(obj.ensemble)
        if isinstance(obj, LearningRule):
            # Learning connections never cross, so pre and post share a component.
            return self.component_of(obj.connection.pre_obj)
        if isinstance(obj, nengo.Connection):
            return self.component_of(obj.pre_obj)
        if isinstance(obj, nengo.Probe):
            return self.component_of(obj.obj)
        return 0

    def components(self, op):
        """The components that run ``op`` (empty: the op needs no execution)."""
        known = self._known.get(op)
        if known is None:
            known = self._known[op] = self._components(op)
        return known

    def _components(self, op):
        if isinstance(op, TimeUpdate):
            # Every component needs its own clock; replicating it is cheaper than
            # exchanging it and keeps each component self-contained.
            return list(range(self.n_components))
        if isinstance(op, SimProbe):
            return []  # nengo's SimProbe is a no-op marker; the engine records probes
        merged = self.made.get(op)
        if merged is not None and all(c < self.n_components for c in merged):
            return list(merged)  # made by merging operators of one component
        owner = self.owners.get(op)
        if isinstance(owner, nengo.Connection):
            post_input = self.model.sig[owner].get("out")
            writes = {s.base for s in op.sets + op.incs + op.updates}
            if post_input is not None and post_input.base in writes:
                return [self.component_of(owner.post_obj)]
            return [self.component_of(owner.pre_obj)]
        return [self.component_of(owner)]
