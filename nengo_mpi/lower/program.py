"""Lower a built nengo model into one Program per component.

A Program is everything one component needs to run, with no reference to the rest of
the model: its buffer layout and initial bytes, its operators in global order (native
records or Python fallbacks), and the ends of its channels. Programs are plain,
picklable data, so rank 0 can ship them to the ranks that run them.
"""

from dataclasses import dataclass, field

from nengo.builder.signal import Signal
from nengo.exceptions import BuildError

from ..construction.synapse_memo import shared_discretisations
from .assign import OperatorAssigner
from .channels import find_channels
from .fallback import warn_fallbacks
from .translators import native_record
from .layout import ComponentLayout
from .merge import merge_placement, merge_within_components, same_step_crossing
from .ownership import op_owners
from .schedule import schedule_order, step_order
from .stages import (
    LocalExchange, stage_graph, stage_keys, stage_numbers, stage_orders,
)
from .state import lowering_state
from .tiling import split_tiled_ensembles


@dataclass
class OpRecord:
    """One operator of a component.

    ``method``/``args`` name the engine call for a native kernel; when ``method`` is None
    the operator runs through the Python fallback and ``op`` is the nengo Operator.
    ``reseed``, for native ops that draw random numbers, is a picklable callable
    ``reseed(engine, handle, slot_rng)`` run at setup and on every reset (see
    `nengo_mpi.lower.translators.seeding`). ``seed_slot`` is the op's place in the model's
    order before operators were merged (`seed_slots`), so that its seed does not depend
    on how the model was split; ops that draw random numbers are never merged.
    """

    order: int
    method: object
    args: tuple
    op: object
    label: str
    reseed: object = None
    seed_slot: int = -1  # which of the simulator's per-op seeds its RNG gets


@dataclass
class ProbeRecord:
    """Where a probe's signal lives and how often it is sampled."""

    index: int  # position in model.probes
    component: int
    view: int
    period: float
    shape: tuple
    dtype: str


@dataclass
class Program:
    """Everything one component needs to run."""

    component: int
    layout: ComponentLayout
    ops: list = field(default_factory=list)
    probes: list = field(default_factory=list)

    def fallback_ops(self):
        return [r for r in self.ops if r.method is None]


@dataclass
class LoweredModel:
    """All components' programs plus what connects them."""

    programs: list
    channels: list
    n_seed_slots: int
    home: dict  # base Signal -> component whose copy is authoritative
    ops: list = field(default_factory=list)  # the operators in global order

    @property
    def n_components(self):
        return len(self.programs)


def lower_model(model, obj_components, n_components, optimize=True, local=None,
                halo=None, stages=None):
    """Lower ``model`` into `.LoweredModel` with ``n_components`` programs.

    Parameters
    ----------
    model : nengo.builder.Model
        A built model.
    obj_components : dict
        Ensemble/Node (and `nengo_mpi.partition.tiles.Tile`) -> component, from the
        partitioner; tiled ensembles are rewritten into their tiles first
        (`nengo_mpi.lower.tiling`).
    n_components : int
        Number of components.
    optimize : bool, optional
        Merge same-kind operators within each component first (changes ``model``'s
        operators and signals, as nengo's optimizer does).
    local : collection of int, optional
        Only these components get their operators (the programs of the others have
        their layout and probes, which are cheap, but no operators: another rank lowers
        them under distributed construction). Default: every component.
    halo : nengo_mpi.construction.halo.Halo, optional
        ``model`` holds only ``local``'s components and their neighbours
        (`nengo_mpi.construction.halo`): only ``local``'s programs are lowered (the
        others are None), probes are numbered as in the whole model, and no operator
        gets a seed slot (a halo build is made only of models none of whose
        operators draws random numbers).
    stages : dict or True, optional
        Order and merge the operators by stages (`nengo_mpi.lower.stages`), as a halo
        build does: the stages of ``local``'s operators (``(operator, component)`` ->
        stage, agreed by the ranks of a halo build), or True to find them for every
        component here (a build of the whole model that must lower each component as
        its rank's halo build did).
    """
    with shared_discretisations():
        return _lower(model, obj_components, n_components, optimize, local, halo, stages)


def _lower(model, obj_components, n_components, optimize, local, halo, stages):
    owners = op_owners(model)
    assigner = OperatorAssigner(model, obj_components, n_components)
    ops, order, slots = _merge_and_order(model, obj_components, n_components, optimize,
                                         local, halo, stages, assigner, owners)
    placed = []  # (op, component) in global order
    for op in ops:
        for comp in assigner.components(op):
            placed.append((op, comp))
    channels, writer_component, keep = _numbered_channels(
        model, placed, order, owners, n_components, local, halo)
    layouts = _layouts(model, placed, channels, keep, n_components)
    programs = [Program(component=c, layout=layouts[c]) if c in keep else None
                for c in range(n_components)]
    # Channel and probe views first: then their ids do not depend on the views the
    # operators' records add, which only the rank lowering a component makes.
    for ch in channels:
        if ch.src_component in keep:
            ch.src_view = layouts[ch.src_component].view(ch.signal)
        if ch.dst_component in keep:
            ch.dst_view = layouts[ch.dst_component].view(ch.signal)
    _add_probes(model, programs, writer_component, assigner, halo)
    _add_op_records(model, programs, placed, order, slots, local)
    warn_fallbacks(
        rec.op for program in programs if program is not None
        for rec in program.ops if rec.method is None
    )

    home = {}
    for comp, layout in enumerate(layouts):
        if layout is None:
            continue
        for base in layout.bases:
            home.setdefault(base, writer_component.get(base, comp))
    n_slots = 0 if halo is not None else lowering_state(model).n_seed_slots
    return LoweredModel(programs, channels, n_slots, home, ops)


def _merge_and_order(model, obj_components, n_components, optimize, local, halo, stages,
                     assigner, owners):
    """Tile, merge (if ``optimize``) and order ``model``'s operators; returns (the
    operators in global order, operator -> its place, operator -> seed slot)."""
    # Seed slots first: the operators tiles add draw no random numbers and must not
    # move the seeds of those that do.
    slots = {} if halo is not None else seed_slots(model)
    split_tiled_ensembles(model, obj_components, assigner.components)
    staged = set(local if halo is not None else range(n_components))
    if stages is True:
        stages = whole_model_stages(model, assigner.components, n_components)
    if optimize:
        op_components, probe_components = merge_placement(model, assigner)
        if stages is not None:
            independent = True  # within stages: see `nengo_mpi.lower.stages`
        else:
            independent = not same_step_crossing(model.operators, op_components)
        merge_within_components(model, op_components, probe_components,
                                independent=independent,
                                only=local if halo is not None else None,
                                stages=stages)
        # Forget the ops merged away (and with them their signals' memory: merging
        # copied their initial values into the merged signals); the slot count stays,
        # so the seeds of the remaining ops do not move. Merged ops are placed by
        # the lowering state's op_components, not by an owner.
        live = set(model.operators)
        if halo is None:
            slots = {op: slot for op, slot in slots.items() if op in live}
            lowering_state(model).seed_slots = slots
        for op in [op for op in owners if op not in live]:
            del owners[op]
    if stages is None:
        ops = schedule_order(model, assigner.components)
        order = {op: i for i, op in enumerate(ops)}
    else:
        order = stage_orders(model.operators, assigner.components, staged, stages)
        # Operators of other components (a halo's shadows) are not ordered here: the
        # ends of their channels come from their ranks (`Halo.key_channels`).
        ops = sorted(order, key=order.get)
        ops.extend(op for op in model.operators
                   if op not in order and hasattr(op, "make_step"))
    return ops, order, slots


def _numbered_channels(model, placed, order, owners, n_components, local, halo):
    """The channels between components, tagged; returns (channels, base -> the
    component that writes it, the components lowered here)."""
    channels, writer_component = find_channels(placed, order, owners)
    # In the order of their writers in the model (the builder's), which a rank that
    # built only its neighbourhood sees too, so that every rank lays out a component's
    # received signals in one order.
    position = {op: i for i, op in enumerate(model.operators)}
    first_writer = {}
    for op in model.operators:
        for sig in op.sets + op.incs + op.updates:
            first_writer.setdefault(sig.base, position[op])
    channels.sort(key=lambda ch: (ch.src_component, ch.dst_component,
                                  first_writer[ch.signal]))
    for tag, ch in enumerate(channels):
        ch.tag = tag
    if halo is None:
        return channels, writer_component, set(range(n_components))
    keep = set(local)
    channels = [ch for ch in channels
                if ch.src_component in keep or ch.dst_component in keep]
    halo.key_channels(channels, model)
    return channels, writer_component, keep


def _layouts(model, placed, channels, keep, n_components):
    """Every kept component's signals in the order of the model's operators (the
    builder's, merged ones at their first part's place), not of the schedule: the
    layout is then the same whether the model was built whole or around the
    component."""
    position = {op: i for i, op in enumerate(model.operators)}
    layouts = [ComponentLayout() if c in keep else None for c in range(n_components)]
    for op, comp in sorted(placed, key=lambda p: position[p[0]]):
        if comp in keep:
            for sig in op.all_signals:
                layouts[comp].add(sig)
    for ch in channels:
        if ch.dst_component in keep:
            layouts[ch.dst_component].add(ch.signal)
    return layouts


def _add_probes(model, programs, writer_component, assigner, halo):
    """A `ProbeRecord` for each probe, in the program of the component that writes
    its signal (numbered as in the whole model after a halo build)."""
    for index, probe in enumerate(model.probes):
        sig = model.sig[probe]["in"]
        comp = writer_component.get(sig.base, assigner.component_of(probe))
        if programs[comp] is None:
            continue
        layout = programs[comp].layout
        layout.add(sig)
        period = 1.0 if probe.sample_every is None else probe.sample_every / model.dt
        if halo is not None:
            index = halo.probe_index[probe]
        programs[comp].probes.append(
            ProbeRecord(index, comp, _probe_view(layout, sig), period, sig.shape,
                        str(sig.dtype))
        )


def _add_op_records(model, programs, placed, order, slots, local):
    """An `OpRecord` for each placed operator of ``local``'s components (all if None):
    its engine call, or the operator itself for the Python fallback."""
    for op, comp in placed:
        if local is not None and comp not in local:
            continue
        record = native_record(op, programs[comp].layout, model.dt)
        if record is None:
            rec = OpRecord(order[op], None, (), op, str(op))
        else:
            method, args, *reseed = record
            rec = OpRecord(order[op], method, args, None, str(op), *reseed)
        # Only merged ops lack a slot, and none of them draws random numbers (see
        # `nengo_mpi.lower.merge`); a fallback among them gets an RNG it does not use.
        rec.seed_slot = slots.get(op, 0)
        programs[comp].ops.append(rec)


def whole_model_stages(model, components, n_components):
    """``(operator, component)`` -> stage of every component's operators of ``model``
    (built whole, not merged; see `nengo_mpi.lower.stages`)."""
    graph = stage_graph(model, components, range(n_components),
                        lambda base, src, dst: (base, src, dst))
    before, after = stage_numbers(graph, LocalExchange(len(graph.writers) + 2))
    return stage_keys(graph, before, after)


def probe_records(lowered):
    """The `ProbeRecord` of every probe of ``lowered``'s programs."""
    return [pr for p in lowered.programs if p is not None for pr in p.probes]


def seed_slots(model):
    """Operator -> its seed slot: its place in ``model``'s `step_order` when first lowered.

    Kept in the model's `nengo_mpi.lower.state.LoweringState`, so that lowering it
    again, merged or split differently or unpickled, gives every random stream the seed
    it had the first time.
    """
    state = lowering_state(model)
    if state.seed_slots is None:
        state.seed_slots = {op: i for i, op in enumerate(step_order(model))}
        state.n_seed_slots = len(state.seed_slots)
    return state.seed_slots


def _probe_view(layout, sig):
    if not isinstance(sig, Signal) or sig.sparse:
        raise BuildError(f"cannot probe {sig!r}: probes of sparse signals are not supported")
    return layout.view(sig)
