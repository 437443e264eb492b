"""Both sides of a distributed construction and of the fetches that follow it.

Rank 0 sends ``("build", sim_id, parted)`` and the packed `BuildOrder`: to every rank
only its part of the network for a halo build (``parted``, `pack_parts`), else all of
it. Every rank builds and lowers its part
(`nengo_mpi.construction.distributed.build_part`) and rank 0 gathers ``(digest,
fallbacks, error)`` from all of them. A rank that cannot load what it was sent says so
before any rank builds (the whole network) or at the halo build's first vote (its part,
so that the ranks load and build at once), and rank 0 then builds alone. A serving
rank keeps its part until rank 0 opens
the engines (``("open", ..., prebuilt=True)`` takes the part from here instead of a
scatter) or closes the simulator.

Rank 0's model holds shadows for what other ranks built. ``("fetch", sim_id, rank,
kind, indices)`` asks ``rank`` for the real values: ``"params"`` (``model.params`` of
`fetchable` objects, for ``sim.data``) or ``"initial"`` (initial values of base
signals, by component and place in its layout, to complete a model being pickled).

``("save", sim_id, path, seed)`` writes the model file in parallel: every rank its own
components to a part file, rank 0 the model file that links to them (`save_everywhere`).
"""

import os
import pickle
import traceback
import warnings
from types import SimpleNamespace

from nengo.exceptions import BuildError

from ..construction.distributed import (
    PeerFailed, build_part, fetchable, layout_digest, make_order, pack_order,
    pack_parts, seeded_model, unpack_order,
)
from ..construction.halo import build_sequence, channel_table, halo_candidate
from ..placement import rank_of_component
from ..lower.fallback import PythonFallbackWarning, warn_fallback_names
from ..lower.ownership import op_owners
from ..lower.program import probe_records
from ..lower.stages import stage_keys, stage_numbers
from ..user_frame import user_stacklevel
from . import protocol

BUILD, FETCH, SAVE = "build", "fetch", "save"
PARAMS, INITIAL = "params", "initial"

class DistributedBuildWarning(UserWarning):
    """A network is built on rank 0 alone although the job has several ranks."""


#: Tag of the point-to-point replies to fetches (kept apart from other sends).
FETCH_TAG = 7302


class Kept:
    """What a serving rank keeps of one distributed construction: its part until the
    engine opens (or the model is saved), and what rank 0 may fetch."""

    def __init__(self, built, size, rank):
        lowered = built.lowered
        self.part = protocol.ship(lowered, [rank_of_component(c, size) for c in
                                            range(lowered.n_components)], size)[rank]
        self.n_seed_slots = lowered.n_seed_slots
        owners = op_owners(built.model)
        # For the message that names the object of a Python operator a file cannot hold.
        self.owners = {rec.op: owners.get(rec.op) for program in self.part[0]
                       for rec in program.fallback_ops()}
        self.objects = fetchable(
            built.halo.sequence if built.halo is not None
            else build_sequence(built.model.toplevel))
        self.params = built.model.params
        self.bases = {p.component: list(p.layout.bases) for p in self.part[0]}

    def values(self, kind, indices):
        """``kind``'s values of ``indices``: places in the build (`fetchable`) for PARAMS,
        ``(component, place in its layout)`` for INITIAL."""
        if kind == PARAMS:
            return [self.params.get(self.objects[i]) for i in indices]
        return [self.bases[comp][i].initial_value for comp, i in indices]


class LoadRefused(Exception):
    """A rank could not load its part of the network (rank 0 then builds alone).

    Parameters
    ----------
    rank : int
    why : str
    """

    def __init__(self, rank, why):
        super().__init__(f"rank {rank} could not load the network: {why}")
        self.rank = rank
        self.why = why


class RankAgreement:
    """What the ranks of a halo build agree on (`build_part`'s ``agree``), over
    ``comm`` (every rank calls each method at once)."""

    def __init__(self, comm, size, parted=False):
        self.comm = comm
        self.size = size
        self.parted = parted

    def whole(self, order):
        """The whole build order (rank 0 sends it if the others were given only their
        parts, `pack_parts`)."""
        if not self.parted:
            return order
        if self.comm.Get_rank() == 0:
            self.comm.bcast(pack_order(order), root=0)
            return order
        return unpack_order(self.comm.bcast(None, root=0))

    def all(self, ok, refused=None):
        """Whether every rank says ``ok``.

        ``refused``: why this rank could not load its part of the network. Then (if
        any rank says so) every rank raises `LoadRefused` naming the first.
        """
        votes = self.comm.gather((bool(ok), refused), root=0)
        verdict = None
        if votes is not None:
            refusals = [(rank, why) for rank, (_, why) in enumerate(votes) if why]
            verdict = refusals[0] if refusals else all(ok for ok, _ in votes)
        verdict = self.comm.bcast(verdict, root=0)
        if isinstance(verdict, tuple):
            raise LoadRefused(*verdict)
        return verdict

    def stages(self, graph):
        """Every node's stage of this rank's `StageGraph` ``graph`` (see
        `nengo_mpi.lower.stages`), the ranks exchanging their channels' numbers through
        rank 0 in rounds; None if another rank failed."""
        exchange = _StageExchange(self.comm)
        try:
            before, after = stage_numbers(graph, exchange)
        except PeerFailed:
            return None
        except Exception:
            exchange.fail()  # the others are waiting for this rank's numbers
            raise
        return stage_keys(graph, before, after)

    def tags(self, keys, ends):
        """Channel key -> ``(tag, send_after, recv_before)``, from every rank's channel
        keys and the ends it ordered (`Halo.key_channels`; None: this rank failed;
        then every rank gets None)."""
        reports = self.comm.gather(None if keys is None else list(zip(keys, ends)),
                                   root=0)
        table = None
        if reports is not None and all(r is not None for r in reports):
            try:
                table = channel_table(reports, self.size)
            except ValueError as e:
                table = str(e)
        table = self.comm.bcast(table, root=0)
        if isinstance(table, str):
            raise BuildError(f"the ranks' halo builds disagree: {table} (a nengo_mpi "
                             "bug: please report it with the script; build with "
                             "NENGO_MPI_DISTRIBUTED_BUILD=0 meanwhile)")
        return table


class _StageExchange:
    """`stage_numbers`'s exchange between ranks: each round every rank sends rank 0 its
    channels' numbers and gets back the other ends' (a rank that failed sends None,
    and every other rank then raises `PeerFailed`)."""

    def __init__(self, comm):
        self.comm = comm
        self.last = None
        self.rounds = 0

    def __call__(self, sent_before, sent_after):
        replies = None
        reports = self.comm.gather((sent_before, sent_after), root=0)
        if reports is not None:
            replies = self._answer(reports)
        reply = self.comm.scatter(replies, root=0)
        if reply is None:
            raise PeerFailed()
        if isinstance(reply, str):
            raise BuildError(reply)
        return reply

    def fail(self):
        """Take part in the round the other ranks are in, as a rank that failed."""
        reports = self.comm.gather(None, root=0)
        self.comm.scatter(None if reports is None else [None] * len(reports), root=0)

    def _answer(self, reports):
        """Rank 0: every rank's reply to a round's ``reports``."""
        if any(r is None for r in reports):
            return [None] * len(reports)
        before, after = {}, {}
        for sent_before, sent_after in reports:
            before.update(sent_before)
            after.update(sent_after)
        self.rounds += 1
        done = (before, after) == self.last
        self.last = (before, after)
        if not done and self.rounds > len(before) + 2:
            why = ("the same-step channels between the ranks' components form a cycle "
                   "(a nengo_mpi bug, or a model nengo cannot order either)")
            return [why] * len(reports)
        return [({key: before[key] for key in sent_after if key in before},
                 {key: after[key] for key in sent_before if key in after}, done)
                for sent_before, sent_after in reports]


def build_everywhere(session, order, model, progress=None):
    """Rank 0: build ``order`` on every rank (this one into ``model``).

    Returns
    -------
    sim_id : int
        The id the serving ranks keep their parts under.
    built : LocalBuild or None
        Rank 0's part; None if ``order`` cannot be sent or another rank cannot load it
        (the caller builds alone; the latter with a `DistributedBuildWarning`).
    fallbacks : list of int
        Global order of every rank's operators that run through Python.
    """
    # A halo build sends each rank only its part of the network.
    parted = session.size > 1 and halo_candidate(order.assignments)
    payload = pack_parts(order, session.size) if parted else pack_order(order)
    if payload is None:
        return None, None, []
    comm = session.comm
    sim_id = session.new_id()
    protocol.send_command(comm, (BUILD, sim_id, parted))
    if parted:
        comm.scatter(payload, root=0)
    else:
        comm.bcast(payload, root=0)
    del payload
    # Every rank must load the network: one that cannot (a class only rank 0 can
    # import) leaves it to rank 0, as before distributed construction.
    if parted:
        # Said at the halo build's first vote, so that rank 0 builds its part while the
        # others load theirs; into a model of its own, so that ``model`` is untouched
        # if rank 0 must then build alone.
        model = seeded_model(order)
    else:
        refused = [(rank, why) for rank, why in enumerate(comm.gather(None, root=0))
                   if why]
        comm.bcast(not refused, root=0)
        if refused:
            _warn_refused(*refused[0])
            return None, None, []
    built, error = None, None
    try:
        built = build_part(order, session.rank, session.size, model=model,
                           progress=progress,
                           agree=RankAgreement(comm, session.size, parted))
    except LoadRefused as e:
        _warn_refused(e.rank, e.why)
        return None, None, []
    except PeerFailed:
        pass  # the rank that failed says why below
    except Exception as e:  # pylint: disable=broad-except
        error = e  # raised below, once every rank has answered
    except BaseException as e:
        # KeyboardInterrupt and the like: the others would wait for our answer forever.
        session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    replies = comm.gather(None if built is None else _reply(built), root=0)
    if error is None:
        error = protocol.first_error(reply[2] if reply is not None else None
                                     for reply in replies)
    if error is None and built is None:
        error = BuildError("a rank failed without saying why (a nengo_mpi bug)")
    if error is None:
        for rank, (digest, *_) in enumerate(replies):
            if digest != built.digest:
                error = BuildError(
                    f"rank {rank} derived a different model structure from rank 0's "
                    "(a nengo_mpi bug: please report it with the script); build with "
                    "NENGO_MPI_DISTRIBUTED_BUILD=0 meanwhile")
                break
    if error is not None:
        protocol.send_command(comm, (protocol.FORGET, [sim_id]))
        raise error
    fallbacks = sorted({name for _, found, *_ in replies for name in found})
    # Every rank's components' layouts and probes: rank 0 checks its own build of the
    # whole model against them (`Simulator.model`) and reads probes by them.
    built.layouts, built.probes = {}, []
    for *_, layouts, probes in replies:
        built.layouts.update(layouts)
        built.probes.extend(probes)
    return sim_id, built, fallbacks


def _warn_refused(rank, why):
    """Say that rank ``rank`` could not load the network (``why``)."""
    advice = ""
    if why.startswith(("ModuleNotFoundError", "ImportError", "AttributeError")):
        advice = ("; make every module the network's classes come from importable "
                  "on every rank to build it on all of them")
    warnings.warn(DistributedBuildWarning(
        f"rank {rank} could not load the network ({why}), so rank 0 builds it "
        f"alone{advice}"), stacklevel=user_stacklevel())


def whole_on_root(order, built, size):
    """Rank 0, after a halo build: its build of the whole model (rank 0's components
    real, the others shadows; see `build_part`), which its ``sim.model``, ``sim.signals``
    and model files need, checked against what every rank lowered.

    Raises
    ------
    nengo.exceptions.BuildError
        If a component's layout or a channel differs from the halo builds' (a bug).
    """
    whole = build_part(order, 0, size, staged=True)
    programs = whole.lowered.programs
    for comp, digest in built.layouts.items():
        if layout_digest(programs[comp].layout) != digest:
            raise BuildError(
                f"component {comp}'s layout differs between its rank's build and rank "
                "0's build of the whole model (a nengo_mpi bug: please report it with "
                "the script; build with NENGO_MPI_DISTRIBUTED_BUILD=0 meanwhile)")
    tags = {ch.tag: (ch.src_component, ch.dst_component, ch.same_step, ch.signal.shape)
            for ch in whole.lowered.channels}
    for ch in built.lowered.channels:
        if tags.get(ch.tag) != (ch.src_component, ch.dst_component, ch.same_step,
                                ch.signal.shape):
            raise BuildError(
                f"channel {ch.tag} differs between rank 0's halo build and its build of "
                "the whole model (a nengo_mpi bug: please report it with the script; "
                "build with NENGO_MPI_DISTRIBUTED_BUILD=0 meanwhile)")
    return whole


def _reply(built):
    """What a rank tells rank 0 of its part: ``(digest, fallbacks, error, layouts,
    probe records)``."""
    return (built.digest, built.fallbacks, None, built.layouts,
            probe_records(built.lowered))


def serve_build(session, cmd, kept):
    """A serving rank's side of ``("build", sim_id, parted)``: build its part, answer
    rank 0 and keep the part in ``kept`` (by ``sim_id``) until the engine opens."""
    _, sim_id, parted = cmd
    comm = session.comm
    payload = comm.scatter(None, root=0) if parted else comm.bcast(None, root=0)
    order, why = None, None
    try:
        order = unpack_order(payload)
    except Exception as e:  # pylint: disable=broad-except
        why = f"{type(e).__name__}: {e}"
    del payload
    agree = RankAgreement(comm, session.size, parted)
    if not parted:
        comm.gather(why, root=0)
        if not comm.bcast(None, root=0):
            return  # some rank could not load it: rank 0 builds alone
    elif why is not None:
        try:
            agree.all(False, refused=why)  # the halo build's first vote
        except LoadRefused:
            pass
        return
    reply = None
    try:
        with warnings.catch_warnings():
            # Every rank opens nengo's decoder cache at once, and all but one find it
            # locked (and use it read-only): expected here, not news to the user.
            warnings.filterwarnings("ignore", message="Decoder cache")
            # Rank 0 says which operators of every rank run through Python.
            warnings.simplefilter("ignore", PythonFallbackWarning)
            built = build_part(order, session.rank, session.size, agree=agree)
        kept[sim_id] = Kept(built, session.size, session.rank)
        reply = _reply(built)
        del built
    except LoadRefused:
        return  # another rank could not load its part: rank 0 builds alone
    except PeerFailed:
        reply = (None, [], None, {}, [])  # the rank that failed says why
    except Exception as e:  # pylint: disable=broad-except
        reply = (None, [], protocol.pack_error(e, session.rank), {}, [])
    comm.gather(reply, root=0)


def fetch(session, sim_id, rank, kind, indices):
    """Rank 0: the ``kind`` values (see the module's docstring) of ``indices`` from
    ``rank``."""
    protocol.send_command(session.comm, (FETCH, sim_id, rank, kind, list(indices)))
    status, value = session.comm.recv(source=rank, tag=FETCH_TAG)
    if status == "error":
        raise BuildError(f"could not fetch {kind} from rank {rank}: {value}")
    return pickle.loads(value)


def serve_fetch(session, cmd, kept):
    """A serving rank's side of ``("fetch", sim_id, rank, kind, indices)``."""
    _, sim_id, rank, kind, indices = cmd
    if rank != session.rank:
        return
    try:
        reply = ("ok", pickle.dumps(kept[sim_id].values(kind, indices),
                                    protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as e:  # pylint: disable=broad-except
        reply = ("error", f"{type(e).__name__}: {e}")
    session.comm.send(reply, dest=0, tag=FETCH_TAG)


def construct_everywhere(session, network, partitioner, assignments, optimize, model,
                         progress=None):
    """Rank 0: partition ``network`` and build it on every rank (see `build_everywhere`).

    Returns
    -------
    tuple or None
        ``(sim_id, built, fallbacks, assignments, order)``; None if the network is to be
        built on rank 0 alone: partitioning failed (the build on rank 0 then reports a
        malformed network in nengo's words, or partitioning after it raises its own
        error again) or part of the network cannot be sent.
    """
    try:
        assignments = partitioner.partition(network, assignments=assignments)
    except Exception:  # pylint: disable=broad-except
        return None
    order = make_order(model, network, assignments, partitioner.n_components, optimize)
    with warnings.catch_warnings():
        # Said below for the operators of every rank at once.
        warnings.simplefilter("ignore", PythonFallbackWarning)
        sim_id, built, fallbacks = build_everywhere(session, order, model, progress)
    if built is None:
        return None  # built on rank 0 instead; the seeds given to the model are nengo's
    warn_fallback_names(fallbacks)
    return sim_id, built, fallbacks, assignments, order


def _prepare(programs, channels, n_seed_slots, owners, seed, components):
    """``components`` (of ``programs``) prepared for a file, and the kinds they use."""
    # pylint: disable=import-outside-toplevel
    from ..files.saving import prepare_components  # h5py only when saving

    kinds = {}
    lowered = SimpleNamespace(programs=programs, channels=channels,
                              n_seed_slots=n_seed_slots)
    return prepare_components(lowered, owners, seed, kinds, components), kinds


def _agreed_kinds(kinds_by_rank):
    """One kind table for every rank: rank 0's kinds, then each other rank's new ones
    (``kinds_by_rank``: each rank's kind keys, in rank order)."""
    agreed = {}
    for kinds in kinds_by_rank:
        for key in kinds:
            agreed.setdefault(key, len(agreed))
    return agreed


def _renumber(prepared, kinds, agreed):
    mapping = {local: agreed[key] for key, local in kinds.items()}
    for part in prepared:
        part.renumber(mapping)


def save_everywhere(session, sim_id, path, seed, lowered, model, probes=None):
    """Rank 0: write the model of distributed construction ``sim_id`` to ``path``, every
    rank its own components (before its engine opens). ``probes`` as for
    `nengo_mpi.files.saving.write_main` (after a halo build, every rank's probes).

    Each rank writes its components to ``<path>.part<rank>`` and rank 0 writes ``path``
    with its own components and links to the others: the file set loads at any rank
    count like a file written by one process. Every file is written under a temporary
    name; the parts take their final names only once every rank has written its part
    and rank 0 its file, and the model file takes its name last. An error on any rank
    removes every temporary file and is raised here, naming the rank.
    """
    # pylint: disable=import-outside-toplevel
    from ..files.format import replace_atomically
    from ..files.saving import part_path, write_main

    comm = session.comm
    path = os.path.abspath(os.fspath(path))
    protocol.send_command(comm, (SAVE, sim_id, path, int(seed)))
    prepared, kinds, error = None, {}, None
    try:
        mine = [c for c in range(lowered.n_components)
                if rank_of_component(c, session.size) == 0]
        prepared, kinds = _prepare(lowered.programs, lowered.channels,
                                   lowered.n_seed_slots, op_owners(model), seed, mine)
    except Exception as e:  # pylint: disable=broad-except
        error = e
    replies = comm.gather((list(kinds), None), root=0)
    if error is None:
        error = protocol.first_error(packed for _, packed in replies)
    if error is not None:
        comm.bcast(None, root=0)
        raise error
    agreed = _agreed_kinds(keys for keys, _ in replies)  # rank 0's first
    comm.bcast(agreed, root=0)
    _renumber(prepared, kinds, agreed)
    replies = comm.gather(None, root=0)  # every part written (or why not)
    error = protocol.first_error(replies)
    linked = {c: part_path(path, rank_of_component(c, session.size))
              for c in range(lowered.n_components)
              if rank_of_component(c, session.size) != 0}
    tmp = None
    if error is None:
        try:
            tmp = write_main(path, lowered, model, seed, agreed, prepared, linked,
                             commit=False, probes=probes)
        except Exception as e:  # pylint: disable=broad-except
            error = e
    comm.bcast(error is None, root=0)
    replies = comm.gather(None, root=0)  # every part renamed (or removed)
    if error is None:
        error = protocol.first_error(replies)
    if error is not None:
        if tmp is not None:
            os.remove(tmp)
        raise error
    replace_atomically(tmp, path)  # last: the model file exists only when complete
    return path


def serve_save(session, cmd, kept):
    """A serving rank's side of ``("save", sim_id, path, seed)``."""
    # pylint: disable=import-outside-toplevel
    from ..files.saving import commit_part, part_path, write_part

    _, sim_id, path, seed = cmd
    comm = session.comm
    prepared, kinds, reply = None, {}, None
    try:
        programs, channels = kept[sim_id].part
        prepared, kinds = _prepare(programs, channels, kept[sim_id].n_seed_slots,
                                   kept[sim_id].owners, seed,
                                   [p.component for p in programs])
    except Exception as e:  # pylint: disable=broad-except
        reply = protocol.pack_error(e, session.rank)
    comm.gather((list(kinds), reply), root=0)
    agreed = comm.bcast(None, root=0)
    if agreed is None:
        return
    mine = part_path(path, session.rank)
    error = None
    try:
        _renumber(prepared, kinds, agreed)
        if prepared:
            write_part(mine, prepared)
    except Exception as e:  # pylint: disable=broad-except
        error = protocol.pack_error(e, session.rank)
    comm.gather(error, root=0)
    keep = comm.bcast(None, root=0)
    error = None
    try:
        if prepared:
            commit_part(mine, keep)
    except Exception as e:  # pylint: disable=broad-except
        error = protocol.pack_error(e, session.rank)
    comm.gather(error, root=0)
