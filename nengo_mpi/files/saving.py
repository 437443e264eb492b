"""Write a partitioned, lowered model to one HDF5 file (`nengo_mpi.save`).

Layout of a model file (every dataset carries a CRC-32, see `.format`)::

    /                      attrs: format, format_version, nengo_mpi_version,
                           nengo_version, dt, seed, n_components, n_seed_slots, model_id,
                           label
    /kinds/method, /kinds/signature
                           the table of engine calls (see `.codec`)
    /probes/...            one row per probe: index, component, view, period, dtype,
                           ndim, shape (flattened), sample_every, label, name
    /components/<c>/       one group per component, attrs: component, nbytes (after a
                           parallel save, a link to the same group in the part file
                           ``<file>.part<rank>`` of the rank that wrote it)
        buffer             uint8: the initial bytes of every signal
        views              compound: byte offset, dtype code, ndim, shape, strides
        channels           compound: every channel with an end in this component
        ops/               the native ops as engine calls (kind, order, seed_slot, label
                           + pools)
        setup/             calls replayed on an op once it exists (``op`` = its index
                           among ``ops``): random generator states and tables that
                           depend on the seed, computed here from the file's seed
        python             only if the component has Python fallback ops: their
                           operators (and the signals they touch), as cloudpickle
                           bytes; attrs: n_ops
        python_parts       with ``python``: what each of those operators is and runs
                           (``<Node "stim">: __main__.stim_fn``), readable without
                           unpickling anything

Python operators (Node functions, Direct-mode ensembles, classes the engine has no
kernel for) travel as cloudpickle bytes and run on whichever rank runs their component.
An operator cloudpickle cannot carry is refused here, naming its object. Loading them
runs code, so readers load them only from a trusted file (`.trust`).
"""

import copy
import datetime
import os
import uuid

import cloudpickle
import nengo
import numpy as np
from nengo.builder.operator import SimPyFunc
from nengo.exceptions import BuildError
import nengo.utils.numpy as npext
import h5py

from .. import __version__
from ..lower.fallback import describe, fallback_name
from ..lower.layout import DTYPE_CODES
from ..construction.construct import new_model
from ..lower.ownership import op_owners
from ..lower.program import probe_records
from ..prepare import checked_partitioner, prepare
from ..runtime import protocol, session as mpi_session
from ..runtime.distributed_build import save_everywhere
from ..runtime.rank_engine import slot_seeds
from .codec import CallWriter, write_kinds
from .schema import CHANNEL_DTYPE, MAX_DIMS, VIEW_DTYPE
from .format import (
    MODEL_FORMAT, MODEL_PART_FORMAT, create, replace_atomically, seal, temporary_name,
    write,
)



def save(network, path, partitioner=None, dt=0.001, seed=None, assignments=None,
         optimize=True, build_workers=None):
    """Build, partition and lower ``network``, and write it to the HDF5 file ``path``.

    The file runs with ``mpirun -np N python -m nengo_mpi run path --time T`` on any
    number of ranks N (components are dealt to ranks round-robin).

    Parameters
    ----------
    network : nengo.Network
        The network.
    path : str or os.PathLike
        Where to write the file (written under a temporary name, renamed on success).
    partitioner : nengo_mpi.Partitioner, optional
        How to split the network into components. Default: one component.
    dt : float, optional
        Time step in seconds.
    seed : int, optional
        Simulator seed; ``network.seed + 1`` if not given and the network has a seed,
        as in nengo, else random. Stored in the file: every run of it is the same.
    assignments : dict, optional
        ``{object: component}`` for Ensembles and Nodes, overriding the partitioner.
    optimize : bool, optional
        Merge same-kind operators within each component, as ``Simulator`` does
        (see `nengo_mpi.lower.planner`); ``optimize=False`` lowers faster but leaves
        more, smaller operators.
    build_workers : int, optional
        Worker processes that solve decoders, as in ``Simulator``.

    Under ``python -m nengo_mpi`` with more than one rank (and component), every
    rank builds its own components and writes them (see "Distributed construction" in
    the docs and `nengo_mpi.runtime.distributed_build.save_everywhere`): the file
    then comes with one part file per other rank, ``<path>.part<rank>``, which must
    stay next to it.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    nengo.exceptions.BuildError
        If an operator (e.g. a Node's function) cannot be stored; the message names
        the object.
    """
    partitioner = checked_partitioner(partitioner, None)
    model = new_model(dt, f"{network}, dt={dt:f}")
    session = mpi_session.active()
    if session is not None and not session.serving:
        session = None  # rank 0 of a program of its own: the other ranks are elsewhere
    prepared = prepare(network, model, partitioner, assignments, optimize, session,
                       build_workers)
    done = prepared.distributed
    if done is None:
        write_model(path, prepared.lowered, prepared.model, _seed(network, seed))
        return path
    try:
        probes = None
        if done.built.halo is not None:
            # Every rank's probes, gathered (rank 0 built only its own).
            index = done.built.halo.probe_index
            probes = (done.built.probes, sorted(index, key=index.get))
        return save_everywhere(session, done.sim_id, path, _seed(network, seed),
                               prepared.lowered, prepared.model, probes=probes)
    finally:
        protocol.send_command(session.comm, (protocol.FORGET, [done.sim_id]))


def _seed(network, seed):
    """The simulator seed a file runs with: ``seed``, else nengo's default."""
    if seed is not None:
        return seed
    return network.seed + 1 if network.seed is not None else np.random.randint(
        npext.maxint)


def write_model(path, lowered, model, seed):
    """Write an already lowered model to ``path`` (used by `save` and ``Simulator``).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    lowered : nengo_mpi.lower.program.LoweredModel
        The programs and channels.
    model : nengo.builder.Model
        The built model (for dt, probes and the owners of operators).
    seed : int
        The simulator seed the file will run with.
    """
    path = os.fspath(path)
    kinds = {}
    # Everything that can fail on the model's contents happens before the file exists.
    prepared = prepare_components(lowered, op_owners(model), seed, kinds,
                                  range(lowered.n_components))
    write_main(path, lowered, model, seed, kinds, prepared, {})


def prepare_components(lowered, owners, seed, kinds, components):
    """What `write_main` or `write_part` writes of ``components``: one
    `_PreparedComponent` each, their engine calls' kinds added to ``kinds``.

    Raises `BuildError` (naming the object) if a Python operator cannot be stored.
    """
    # (After a halo build, other ranks' programs are None here.)
    by_component = {p.component: p for p in lowered.programs if p is not None}
    seeds = slot_seeds(seed, [rec.seed_slot for c in components
                              for rec in by_component[c].ops if rec.reseed is not None])
    prepared = []
    for c in components:
        program = by_component[c]
        prepared.append(_PreparedComponent(program, lowered.channels,
                                           _python_blob(program, owners), kinds, seeds))
    return prepared


def write_main(path, lowered, model, seed, kinds, prepared, linked, commit=True,
               probes=None):
    """Write the model file ``path`` (under a temporary name, renamed when complete).

    ``prepared`` are the components it holds itself (`prepare_components`); ``linked``
    maps every other component to the part file that holds it (`write_part`, in the
    same directory): the file links there, so readers see one file. With
    ``commit=False`` the file keeps its temporary name, which is returned (the caller
    renames it once the parts are in place). ``probes`` is ``(records, probes)`` for
    `probe_table` when ``lowered`` and ``model`` do not hold every probe (after a halo
    build, `nengo_mpi.construction.halo`).
    """
    if probes is None:
        probes = (probe_records(lowered), model.probes)
    tmp = temporary_name(path)
    try:
        with create(tmp, MODEL_FORMAT) as f:
            f.attrs.update({
                "nengo_mpi_version": __version__,
                "nengo_version": nengo.__version__,
                "dt": float(model.dt),
                "seed": int(seed),
                "n_components": lowered.n_components,
                "n_seed_slots": int(lowered.n_seed_slots),
                "model_id": uuid.uuid4().hex,
                "label": str(model.label),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            })
            comps = f.create_group("components")
            for part in prepared:
                part.write(comps.create_group(str(part.component)))
            for c, part_path in sorted(linked.items()):
                # Relative: HDF5 looks for it next to this file, so the files can move
                # together.
                comps[str(c)] = h5py.ExternalLink(os.path.basename(part_path),
                                                  f"/components/{c}")
            write_kinds(f.create_group("kinds"), kinds)
            _write_probes(f.create_group("probes"), *probes)
        seal(tmp)
        if not commit:
            return tmp
        replace_atomically(tmp, path)
        return path
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def part_path(path, rank):
    """The part file rank ``rank`` writes its components to in a parallel save."""
    return f"{os.fspath(path)}.part{rank}"


def write_part(path, prepared):
    """Write the components ``prepared`` to the part file ``path`` under its temporary
    name (`commit_part` gives it its final name once every part is written)."""
    tmp = temporary_name(path)
    try:
        with create(tmp, MODEL_PART_FORMAT) as f:
            comps = f.create_group("components")
            for part in prepared:
                part.write(comps.create_group(str(part.component)))
        seal(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def commit_part(path, keep):
    """Rename the written part file ``path`` to its final name (``keep``), or remove it."""
    tmp = temporary_name(path)
    if keep:
        replace_atomically(tmp, path)
    elif os.path.exists(tmp):
        os.remove(tmp)


class _CallRecorder:
    """Stands in for the engine while a reseed hook runs: records what it would call."""

    def __init__(self, handle):
        self.handle = handle
        self.calls = []

    def __getattr__(self, method):
        def call(handle, *args):
            assert handle == self.handle
            self.calls.append((method, args))

        return call


class _PreparedComponent:
    """One component's datasets, computed before any file is opened.

    Its engine calls' kind ids are those of the ``kinds`` table given; `renumber`
    moves them to another table (a parallel save agrees on one table for every rank's
    components after each rank has prepared its own).
    """

    def __init__(self, program, channels, python, kinds, seeds):
        self.component = program.component
        layout = program.layout
        self.nbytes = layout.nbytes
        self.buffer = layout.initial_bytes()

        views = np.zeros(len(layout.views), dtype=VIEW_DTYPE)
        for i, (offset, code, shape, strides) in enumerate(layout.views):
            if len(shape) > MAX_DIMS:
                raise BuildError(f"a view of component {program.component} has "
                                 f"{len(shape)} dimensions (at most {MAX_DIMS})")
            views[i]["offset"], views[i]["dtype"] = offset, code
            views[i]["ndim"] = len(shape)
            views[i]["shape"][: len(shape)] = shape
            views[i]["strides"][: len(strides)] = strides
        self.views = views

        mine = [ch for ch in channels if program.component in (ch.src_component,
                                                                 ch.dst_component)]
        table = np.zeros(len(mine), dtype=CHANNEL_DTYPE)
        for i, ch in enumerate(mine):
            table[i] = (ch.tag, ch.src_component, ch.dst_component, ch.src_view,
                        ch.dst_view, ch.send_after, ch.recv_before, ch.same_step)
        self.channels = table

        native = [rec for rec in program.ops if rec.method is not None]
        self.ops = CallWriter(kinds)
        self.setup = CallWriter(kinds)
        setup_ops = []
        for i, rec in enumerate(native):
            self.ops.add(rec.method, rec.args)
            if rec.reseed is not None:
                # The file fixes the seed, so what the hook would upload is known now.
                # A copy runs: a hook may act once per engine (`NeuronTypeRng`), and the
                # live engine of a Simulator saving its model has not run it yet.
                recorder = _CallRecorder(handle=i)
                hook = copy.deepcopy(rec.reseed)
                hook(recorder, i, np.random.RandomState(seeds[rec.seed_slot]))
                for method, args in recorder.calls:
                    self.setup.add(method, args)
                    setup_ops.append(i)
        self.setup_ops = np.asarray(setup_ops, dtype=np.int64)
        self.order = np.asarray([rec.order for rec in native], dtype=np.int64)
        self.seed_slot = np.asarray([rec.seed_slot for rec in native], dtype=np.int64)
        self.labels = [rec.label for rec in native]
        self.python = python

    def renumber(self, mapping):
        """Use kind ``mapping[k]`` wherever kind ``k`` was used."""
        for writer in (self.ops, self.setup):
            writer.kind_ids = [mapping[k] for k in writer.kind_ids]

    def write(self, group):
        group.attrs["component"] = self.component
        group.attrs["nbytes"] = self.nbytes
        write(group, "buffer", self.buffer)
        write(group, "views", self.views)
        write(group, "channels", self.channels)
        g = group.create_group("ops")
        self.ops.write(g)
        write(g, "order", self.order)
        write(g, "seed_slot", self.seed_slot)
        write(g, "label", self.labels, strings=True)
        g = group.create_group("setup")
        self.setup.write(g)
        write(g, "op", self.setup_ops)
        if self.python is not None:
            blob, parts = self.python
            ds = write(group, "python", np.frombuffer(blob, dtype=np.uint8))
            ds.attrs["n_ops"] = len(parts)
            write(group, "python_parts", parts, strings=True)


def _python_blob(program, owners):
    """``(cloudpickle bytes, descriptions)`` of a component's Python fallback ops (one
    `describe_python_part` each), or None.

    The ops travel together with the byte offsets of the signals they touch, so that
    the loaded ops and their signals are the same objects (a step function looks its
    signals up by identity).
    """
    fallbacks = program.fallback_ops()
    if not fallbacks:
        return None
    layout = program.layout
    for rec in fallbacks:
        try:
            cloudpickle.dumps(rec.op)
        except Exception as e:  # pylint: disable=broad-except
            owner = owners.get(rec.op)
            what = str(owner) if owner is not None else f"operator {rec.label}"
            raise BuildError(
                f"cannot save {what} to a model file: its Python code cannot be stored "
                f"({type(e).__name__}: {e}). Functions (Node outputs, Direct-mode "
                "functions) must be picklable by cloudpickle: avoid closing over open "
                "files, locks, sockets or other live resources."
            ) from e
    bases = {}
    for rec in fallbacks:
        for sig in rec.op.all_signals:
            bases[sig.base] = layout.bases[sig.base]
    sparse = {b: layout.sparse[b] for b in bases if b in layout.sparse}
    payload = {
        "ops": [(rec.order, rec.seed_slot, rec.label, rec.op) for rec in fallbacks],
        "bases": bases,
        "sparse": sparse,
    }
    parts = [describe_python_part(rec.op, owners.get(rec.op), rec.label)
             for rec in fallbacks]
    return cloudpickle.dumps(payload), parts


def describe_python_part(op, owner, label):
    """What a Python fallback operator is and what code it runs, for a user deciding
    whether to trust a file: ``'<Node "stim">: __main__.stim_fn'``."""
    what = str(owner) if owner is not None else f"operator {label}"
    if isinstance(op, SimPyFunc):
        fn = op.fn
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
        module = getattr(fn, "__module__", None)
        if not isinstance(name, str):  # a callable object: name its class
            code = describe(type(fn))
        else:
            code = f"{module}.{name}" if module else name
    else:
        code = fallback_name(op)
    return f"{what}: {code}"


def probe_label(probe):
    """A readable name for a probe: its label, else its target's label and attribute."""
    if probe.label:
        return str(probe.label)
    target = probe.target
    if isinstance(target, nengo.ensemble.Neurons):
        name = f"{target.ensemble.label or 'Ensemble'}.neurons"
    else:
        name = getattr(target, "label", None) or type(target).__name__
    return f"{name}.{probe.attr}"


def probe_name(label, index):
    """The dataset name of a probe in a probe file: its label and its index (the key
    that stays the same however the model is split)."""
    safe = label.replace("/", "|").lstrip(".") or "probe"
    return f"{safe} #{index}"


def probe_table(records, probes):
    """One dict per probe, by index: index, component, view, period, dtype, shape,
    sample_every, label, name (what a probe file and a model file record).

    Parameters
    ----------
    records : iterable of nengo_mpi.lower.program.ProbeRecord
        Every probe's record (`probe_records`).
    probes : list
        The model's probes (``model.probes``), which the records' indices refer to.
    """
    rows = sorted(records, key=lambda r: r.index)
    table = []
    for r in rows:
        probe = probes[r.index]
        label = probe_label(probe)
        table.append({
            "index": r.index, "component": r.component, "view": r.view,
            "period": float(r.period), "dtype": str(np.dtype(r.dtype)),
            "shape": tuple(r.shape), "sample_every": probe.sample_every,
            "label": label, "name": probe_name(label, r.index),
        })
    return table


def _write_probes(group, records, probes):
    rows = probe_table(records, probes)
    for key, dtype in (("index", np.int64), ("component", np.int64), ("view", np.int64),
                       ("period", np.float64)):
        write(group, key, np.asarray([r[key] for r in rows], dtype=dtype))
    write(group, "dtype", np.asarray([DTYPE_CODES[np.dtype(r["dtype"])] for r in rows],
                                     dtype=np.int8))
    write(group, "ndim", np.asarray([len(r["shape"]) for r in rows], dtype=np.int64))
    write(group, "shape", np.asarray([d for r in rows for d in r["shape"]], dtype=np.int64))
    write(group, "sample_every", np.asarray(
        [np.nan if r["sample_every"] is None else r["sample_every"] for r in rows],
        dtype=np.float64))
    write(group, "label", [r["label"] for r in rows], strings=True)
    write(group, "name", [r["name"] for r in rows], strings=True)
