"""Distributed construction: every rank builds and lowers what its own components need.

Rank 0 partitions the network and seeds its objects, then sends every rank one
`BuildOrder`: the network's description (cloudpickled, so a script's own functions
travel by value; see `nengo_mpi.construction.description`), the seeds, the assignment
of objects to components, the build functions the network needs and the build
settings. For a halo build (`nengo_mpi.construction.halo`) each rank's order holds only
the part of the network it builds (`pack_parts`). Every rank then, at the same time:

1. builds the whole network with nengo's builder, its own ensembles and their
   connections' decoder solves for real and everything else as shadows
   (`nengo_mpi.construction.shadow`), so the model's structure is the same on every
   rank;
2. merges and orders the operators (the same everywhere, since they depend only on
   that structure) and lowers into native records only its own components' operators.

(A halo build does both for its part alone; see `nengo_mpi.construction.halo`.) No
program crosses ranks: each rank opens its engine on its own programs. Rank 0
checks that every rank derived the same structure (`structure_digest`) before any
engine starts, since a difference would mean ranks disagreeing about their messages.
"""

import contextlib
import os
import pickle
import warnings
import zlib
from dataclasses import dataclass

import nengo
from nengo.builder import Builder
from threadpoolctl import threadpool_limits

from ..lower.assign import OperatorAssigner
from ..lower.fallback import fallback_name
from ..lower.program import lower_model
from ..lower.stages import stage_graph
from ..lower.state import use_builder
from ..placement import rank_of_component
from . import description, solve_memo
from .construct import new_model
from .halo import (
    Halo, HaloPart, build_sequence, halo_candidate, needed_by_rank, probe_places,
)
from .prefetch import seed_as_nengo_will
from .shadow import LocalBuilder, Locality
from .sources import apply_rc, rc_state
from .synapse_memo import shared_discretisations

#: Environment variable: set to 0 to build every model on rank 0 alone, as before
#: distributed construction.
DISTRIBUTED_ENV = "NENGO_MPI_DISTRIBUTED_BUILD"


def distributes(session, partitioner):
    """Whether a network split by ``partitioner`` is built on every rank of
    ``session`` (the MPI job, or None) rather than on rank 0 alone."""
    return (session is not None and session.size > 1 and partitioner.n_components > 1
            and os.environ.get(DISTRIBUTED_ENV, "1") != "0")


@dataclass
class BuildOrder:
    """What every rank needs to build its part of a network (sent once by rank 0)."""

    network: object
    seeds: dict
    seeded: dict
    assignments: dict
    n_components: int
    dt: float
    label: str
    optimize: bool
    rc: dict
    builders: dict
    #: Set when the order holds only one rank's part of the network (`pack_parts`).
    part: object = None


@dataclass
class LocalBuild:
    """One rank's part of a distributed construction.

    Attributes
    ----------
    model : nengo.builder.Model
        The whole model's structure, with real values for what this rank runs; or,
        after a halo build (``halo`` set), only this rank's components and their
        neighbours.
    lowered : nengo_mpi.lower.program.LoweredModel
        Every component's layout and probes; operators only for this rank's components
        (after a halo build: only this rank's programs, the others None).
    locality : Locality
        What was built for real here.
    digest : int or None
        `structure_digest` of ``lowered`` (None after a halo build, whose lowering is
        checked by the ranks agreeing on its channels instead).
    fallbacks : list of str
        Names (`nengo_mpi.lower.fallback.fallback_name`) of this rank's operators that
        run through Python.
    halo : nengo_mpi.construction.halo.Halo or None
        What a halo build built here.
    layouts : dict
        After a halo build, this rank's components -> `layout_digest` of their layout
        (else empty).
    """

    model: object
    lowered: object
    locality: object
    digest: object
    fallbacks: list
    halo: object = None
    layouts: dict = None


class PeerFailed(Exception):
    """Another rank failed in the middle of a halo build (it reports why)."""


def own_builders(network):
    """``{class: build function}`` of the build functions ``network``'s objects and
    their parts (neuron types, synapses, solvers, learning rules, ...) resolve to.

    They travel with the `BuildOrder` (by value when the script or a function defined
    them), since the other ranks may never have run the code that registered them
    (a script's or a function's ``Builder.register``).
    """
    found = {}
    for obj in network.all_objects:
        parts = [obj]
        for attr in ("neuron_type", "noise", "solver", "synapse", "transform",
                     "learning_rule_type", "output"):
            value = getattr(obj, attr, None)
            if isinstance(value, dict):
                parts.extend(value.values())
            elif isinstance(value, (list, tuple)):
                parts.extend(value)
            else:
                parts.append(value)
        for part in parts:
            if part is None:
                continue
            for cls in type(part).__mro__:
                if cls in Builder.builders:
                    # nengo's own too: they pickle as a reference (module and name),
                    # and a test or a library may register builders inside nengo's
                    # own package.
                    found[cls] = Builder.builders[cls]
                    break
    return found


@contextlib.contextmanager
def registered(builders):
    """Within this block, nengo's `Builder` uses ``builders`` (``{class: function}``)."""
    saved = {cls: Builder.builders.get(cls) for cls in builders}
    Builder.builders.update(builders)
    try:
        yield
    finally:
        for cls, fn in saved.items():
            if fn is None:
                del Builder.builders[cls]
            else:
                Builder.builders[cls] = fn


def make_order(model, network, assignments, n_components, optimize):
    """The `BuildOrder` for ``network``, seeding ``model`` as nengo's build will
    (`seed_as_nengo_will`)."""
    seed_as_nengo_will(model, network)
    return BuildOrder(network, dict(model.seeds), dict(model.seeded), dict(assignments),
                      int(n_components), float(model.dt), str(model.label),
                      bool(optimize), rc_state(), own_builders(network))


def pack_order(order, keep=None, lists=None):
    """``order`` as bytes for the other ranks (its network pruned to ``keep``, see
    `nengo_mpi.construction.description`), or None if part of it cannot travel (a
    function, process or neuron type holding a lock, a file, ...)."""
    try:
        return description.dumps(order, keep=keep, lists=lists)
    except Exception:  # pylint: disable=broad-except
        return None


def pack_parts(order, size):
    """For a halo build of ``order``: each rank's order, as bytes, with only what that
    rank builds of the network (rank 0's entry is None: it builds from ``order``
    itself); or None if part of it cannot travel.

    The network is walked a fixed number of times whatever ``size``; each rank's part
    then costs time in proportion to the part.
    """
    sequence = build_sequence(order.network)
    probe_index = probe_places(sequence)
    needed = needed_by_rank(order.network, order.assignments,
                            lambda comp: rank_of_component(comp, size), size)
    index = description.PartIndex(order.network)
    payloads = [None]
    for rank in range(1, size):
        keep, lists = index.part(needed[rank])
        part = BuildOrder(
            order.network,
            {obj: order.seeds[obj] for obj in keep if obj in order.seeds},
            {obj: order.seeded[obj] for obj in keep if obj in order.seeded},
            {obj: order.assignments[obj] for obj in keep if obj in order.assignments},
            order.n_components, order.dt, order.label, order.optimize, order.rc,
            order.builders, HaloPart.of(sequence, probe_index, needed[rank]))
        payloads.append(pack_order(part, keep=keep, lists=lists))
        if payloads[-1] is None:
            return None
    return payloads


def unpack_order(payload):
    """The `BuildOrder` a serving rank received (nengo's settings made rank 0's)."""
    with warnings.catch_warnings():
        # Said on rank 0 when the script made these objects; unpickling sets their
        # parameters again (e.g. nengo's "Node.size_out is being overwritten").
        warnings.simplefilter("ignore")
        order = pickle.loads(payload)
    apply_rc(order.rc)
    return order


def seeded_model(order):
    """A new model seeded as ``order`` says."""
    model = new_model(order.dt, order.label)
    model.seeds.update(order.seeds)
    model.seeded.update(order.seeded)
    return model


def build_part(order, rank, size, model=None, progress=None, agree=None, staged=False):
    """Build and lower rank ``rank``'s part of ``order``'s network; returns `LocalBuild`.

    ``model`` is the model to build into (rank 0's own, seeded by `make_order`); other
    ranks get a new one seeded from the order. With ``agree`` (every rank's, see
    `nengo_mpi.runtime.distributed_build.RankAgreement`), a halo build is tried first
    (`nengo_mpi.construction.halo`): every rank must call this at once, and if any
    rank's part cannot be a halo, every rank builds the whole model (into a new model:
    the returned one is the model to use). ``staged``: lower the whole model by stages
    (`nengo_mpi.lower.stages`), as the ranks' halo builds did.
    """
    if model is None:
        model = seeded_model(order)
    if agree is not None and (order.part is not None
                              or halo_candidate(order.assignments)):
        built = _build_halo(order, rank, size, model, progress, agree)
        if built is not None:
            return built
        order = agree.whole(order)  # a rank given only its part gets all of it
        model = seeded_model(order)
    locality = Locality(order.network, order.assignments, rank, size)
    _build(model, order, locality, progress)
    local = {c for c in range(order.n_components) if rank_of_component(c, size) == rank}
    lowered = lower_model(model, order.assignments, order.n_components,
                          optimize=order.optimize, local=local,
                          stages=True if staged else None)
    return _local_build(model, lowered, locality, structure_digest(lowered))


def _build(model, order, locality, progress, halo=None):
    """nengo's build of ``order``'s network into ``model``, real where ``locality``
    says (and only what ``halo`` needs, if given)."""
    if not isinstance(model.builder, LocalBuilder):
        use_builder(model, LocalBuilder())
    model.builder.locality = locality
    model.builder.halo = halo
    try:
        # One BLAS thread, as every solve of a distributed or worker build: decoders
        # do not depend on which process solved them.
        with threadpool_limits(limits=1), shared_discretisations(), \
                registered(order.builders):
            model.build(order.network, progress=progress)
    finally:
        # Not part of the built model (pickled with a Simulator).
        model.builder.locality = model.builder.halo = None
        solve_memo.forget(model)


def _local_build(model, lowered, locality, digest, halo=None):
    fallbacks = sorted({fallback_name(rec.op) for p in lowered.programs if p is not None
                        for rec in p.fallback_ops()})
    # What rank 0 checks its build of the whole model against (after halo builds only).
    layouts = {} if halo is None else {p.component: layout_digest(p.layout)
                                       for p in lowered.programs if p is not None}
    return LocalBuild(model, lowered, locality, digest, fallbacks, halo, layouts)


def _build_halo(order, rank, size, model, progress, agree):
    """`build_part` as a halo; None (on every rank) if some rank's part cannot be one."""
    halo = graph = None
    try:
        halo = Halo(order.network, order.assignments, rank, size, part=order.part)
        locality = Locality(order.network, order.assignments, rank, size)
        _build(model, order, locality, progress, halo=halo)
        assigner = OperatorAssigner(model, order.assignments, order.n_components)
        problem = halo.problem(model)
        if problem is None:
            graph = stage_graph(model, assigner.components, halo.local,
                                halo.stage_channel_key(model))
    except Exception as e:  # pylint: disable=broad-except
        # The whole build that follows meets it again and reports it as usual.
        problem = f"{type(e).__name__}: {e}"
    if not agree.all(problem is None):
        return None
    # Every rank's operators' stages, agreed over the same-step channels: one order
    # for all ranks without the whole model's graph (`nengo_mpi.lower.stages`).
    stages = agree.stages(graph)
    del graph  # an entry per operator, not needed while lowering
    if stages is None:
        raise PeerFailed()
    lowered, error = None, None
    try:
        lowered = lower_model(model, order.assignments, order.n_components,
                              optimize=order.optimize, local=halo.local, halo=halo,
                              stages=stages)
    except Exception as e:  # pylint: disable=broad-except
        error = e
    table = agree.tags(None if error is not None else halo.channel_keys,
                       None if error is not None else halo.channel_ends)
    if error is not None:
        raise error
    if table is None:
        raise PeerFailed()
    for ch, key in zip(lowered.channels, halo.channel_keys):
        ch.tag, ch.send_after, ch.recv_before = table[key]
    return _local_build(model, lowered, locality, None, halo)


def layout_digest(layout):
    """A checksum of ``layout``'s bases: their shapes, types and offsets. (Not of its
    views: operators' records add theirs only where they are lowered.)"""
    return zlib.crc32(repr((layout.nbytes, [(b.shape, b.dtype.str, off)
                                            for b, off in layout.bases.items()])).encode())


def structure_digest(lowered):
    """A checksum of what every rank must agree on: the operators in global order with
    their signals' shapes and types, the channels, the seed slots, and every
    component's buffer size and probes."""
    crc = zlib.crc32(repr(lowered.n_seed_slots).encode())
    for op in lowered.ops:
        shapes = [(s.shape, s.dtype.str) for s in op.all_signals]
        crc = zlib.crc32(f"{type(op).__name__}{shapes}".encode(), crc)
    for ch in lowered.channels:
        crc = zlib.crc32(repr((ch.tag, ch.src_component, ch.dst_component, ch.send_after,
                               ch.recv_before, ch.same_step, ch.signal.shape, ch.src_view,
                               ch.dst_view)).encode(), crc)
    for program in lowered.programs:
        crc = zlib.crc32(repr((program.layout.nbytes, [
            (p.index, p.view, p.period, p.shape) for p in program.probes])).encode(), crc)
    return crc


def fetchable(places):
    """The objects whose ``sim.data`` rank 0 may fetch from another rank, named by their
    place in the whole network's build (``places``: a `build_sequence`, or a
    `HaloPart`'s places), as ``{place: object}``."""
    return {place: obj for obj, place in places.items()
            if isinstance(obj, (nengo.Ensemble, nengo.Connection))}
