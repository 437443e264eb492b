"""What nengo_mpi keeps about a built model between its lowerings: ours, not nengo's.

A model may be lowered more than once (merged or split differently, after unpickling,
rank 0's whole model after a halo build), and every lowering must place operators and
seed random streams as the first did. That needs what the build and the first lowering
learnt, which `LoweringState` holds. It is found by the model (`lowering_state`) without
being set on nengo's object. A model built by nengo_mpi has a builder of ours
(`KeepsLoweringState`), which holds the state, so that it travels with the model when
the model alone is pickled; a model with another builder has its state in a weak map.
A Simulator also holds its model's state and pickles it (`attach` gives it back to the
unpickled model).
"""

import weakref


class LoweringState:
    """Lowering's record of one built model.

    Attributes
    ----------
    op_owner : dict
        Operator -> the object (Ensemble, Node, Connection, Probe, LearningRule) whose
        build added it (`nengo_mpi.lower.ownership.OwnershipBuilder`).
    seed_slots : dict or None
        Operator -> its seed slot: its place in the step order when the model was
        first lowered (`nengo_mpi.lower.program.seed_slots`). None until then.
    n_seed_slots : int
        The number of slots then (merging removes operators, not slots).
    op_components : dict
        Operator made by lowering (merged, or for tiles) -> the components that run
        it; such operators have no owner.
    tiled_ensembles : dict
        Ensemble -> the operators its tiles were given (`nengo_mpi.lower.tiling`).
    """

    def __init__(self):
        self.op_owner = {}
        self.seed_slots = None
        self.n_seed_slots = 0
        self.op_components = {}
        self.tiled_ensembles = {}


class KeepsLoweringState:
    """A builder of ours (`nengo_mpi.lower.ownership.OwnershipBuilder`) holds the
    lowering state of the model it builds, as ``lowering``."""

    lowering = None


# Models with another builder. Weak keys: a state lives as long as its model (or
# whoever else holds it).
_STATES = weakref.WeakKeyDictionary()


def lowering_state(model):
    """``model``'s `LoweringState` (a new, empty one the first time)."""
    builder = getattr(model, "builder", None)
    if isinstance(builder, KeepsLoweringState):
        if builder.lowering is None:
            builder.lowering = _STATES.pop(model, None) or LoweringState()
        return builder.lowering
    state = _STATES.get(model)
    if state is None:
        state = _STATES[model] = LoweringState()
    return state


def use_builder(model, builder):
    """Give ``model`` the builder ``builder``, keeping the model's lowering state."""
    state = lowering_state(model)
    model.builder = builder
    attach(model, state)


def attach(model, state):
    """Make ``state`` (e.g. unpickled with ``model``) the lowering state of ``model``."""
    builder = getattr(model, "builder", None)
    if isinstance(builder, KeepsLoweringState):
        builder.lowering = state
    else:
        _STATES[model] = state
