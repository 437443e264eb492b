"""Read a model file: metadata for every rank, and each rank's own components.

h5py's wheels have no parallel HDF5, so every rank opens the file read-only on its own
and reads only the groups of the components it runs (plus the small tables every rank
needs: the call kinds and the probes). Nothing is read twice and nothing is sent
between ranks. On file systems without POSIX locks (some Lustre mounts), set
``HDF5_USE_FILE_LOCKING=FALSE``.
"""

import os

import cloudpickle
import h5py

from ..lower.channels import Channel
from ..lower.program import OpRecord, ProbeRecord, Program
from . import schema, validate
from .codec import CallReader, kernel_methods, read_kinds
from .format import (
    H5_ERRORS, MODEL_FORMAT, FileFormatError, damaged, open_read, read, reading, verify,
)
from .trust import refusal, require_trust, trusted


def _carries_pickle(tokens):
    """Whether a parsed call signature has an argument of type ``p`` (pickled)."""
    return any(_carries_pickle(t) if isinstance(t, list) else t == "p" for t in tokens)


class LoadedLayout:
    """The parts of `nengo_mpi.lower.layout.ComponentLayout` an engine needs.

    ``bases`` and ``sparse`` hold only the signals Python fallback ops touch (what
    their step functions look up).
    """

    def __init__(self, buffer, views, bases=None, sparse=None):
        self._buffer = buffer
        self.nbytes = buffer.size
        self.views = views
        self.bases = bases or {}
        self.sparse = sparse or {}

    def initial_bytes(self):
        return self._buffer

    def fill(self, buf):
        """Write the initial values into ``buf`` (see `ComponentLayout.fill`)."""
        buf[: self.nbytes] = self._buffer


class Replay:
    """Reseed hook of a loaded op: replays the engine calls recorded when it was saved."""

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, engine, handle, slot_rng):
        for method, args in self.calls:
            getattr(engine, method)(handle, *args)


class ModelFile:
    """An open model file.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    trust : bool or None, optional
        Whether the file's Python parts may be loaded (unpickling runs code). None: as
        the environment variable ``NENGO_MPI_TRUST_FILES`` says (default: no); see
        `nengo_mpi.files.trust`.
    check_seal : bool, optional
        Check the seals of the file and of its part files before reading them (False:
        rank 0 checked them for every rank, `verify_model_files`).

    Attributes
    ----------
    path : str
    dt : float
    seed : int
    n_components, n_seed_slots : int
    model_id : str
        Random id given at save time (checkpoints refer to it).
    probes : list of dict
        One per probe: index, component, view, period, dtype, shape, sample_every,
        label, name.

    Raises
    ------
    FileFormatError
        If the file is missing, unreadable, of another kind or version, or damaged.
    UntrustedFileError
        If the file has Python parts and is not trusted; the message names each part.
    """

    def __init__(self, path, trust=None, check_seal=True):
        self.path = os.fspath(path)
        self.trusted = trusted(trust)
        self.check_seal = check_seal
        self._sealed_parts = set()
        self.file = open_read(self.path, MODEL_FORMAT, check_seal=check_seal)
        try:
            a, where = self.file.attrs, repr(self.path)
            self.dt = validate.attr(a, "dt", float, where, low=1e-12)
            self.seed = validate.attr(a, "seed", int, where, 0, schema.MAX_SEED)
            self.n_seed_slots = validate.attr(a, "n_seed_slots", int, where, 0,
                                              schema.MAX_SEED_SLOTS)
            self.model_id = validate.attr(a, "model_id", str, where)
            self.nengo_mpi_version = validate.attr(a, "nengo_mpi_version", str, where)
            self.nengo_version = validate.attr(a, "nengo_version", str, where)
            with reading(where):
                if "components" not in self.file or "kinds" not in self.file:
                    raise FileFormatError(
                        f"{self.path!r} has no components (damaged file?)")
                self.n_components = validate.attr(a, "n_components", int, where, 1,
                                                  schema.MAX_TAG)
                # Bounded by the groups the file has: a forged count must not make
                # every rank loop over billions of components.
                have = len(self.file["components"])
                if self.n_components > have:
                    missing = next(c for c in range(have + 1)
                                   if str(c) not in self.file["components"])
                    raise FileFormatError(
                        f"{self.path!r} has no group /components/{missing}: component "
                        f"{missing} of {self.n_components} is missing (damaged or "
                        "incomplete file)")
                self.kinds = read_kinds(self.file["kinds"], repr(self.path))
                self.probes = self._read_probes()
                if not self.trusted:
                    parts = self.python_parts()
                    if parts:
                        raise refusal(self.path, parts)
        except BaseException:
            self.file.close()
            raise

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_probes(self):
        if "probes" not in self.file:
            raise FileFormatError(f"{self.path!r} has no probe table")
        g = self.file["probes"]
        cols = {k: read(g, k, repr(self.path), dtype)
                for k, dtype in schema.PROBE_DTYPES.items()}
        return validate.probe_table(cols, self.n_components, repr(self.path))

    def python_parts(self):
        """One line per Python part of the file (what unpickling would load and run),
        read without unpickling anything.

        Returns
        -------
        list of str
            ``"component <c>: <what it is>: <the code it runs>"`` per Python fallback
            operator, and a line per engine call with a Python object argument.
        """
        pickled = {k for k, (_, tokens) in enumerate(self.kinds) if _carries_pickle(tokens)}
        parts = []
        for c in range(self.n_components):
            g = self.component_group(c)
            where = f"{self.path!r} component {c}"
            if "python" in g:
                names = (read(g, "python_parts", where, schema.STRING)
                         if "python_parts" in g
                         else ["Python operators (not described in the file)"])
                parts += [f"component {c}: {name}" for name in names]
            for sub in ("ops", "setup") if pickled else ():
                if sub in g and "kind" in g[sub]:
                    kinds = read(g[sub], "kind", where, schema.CALL_DTYPES["kind"])
                    for i, k in enumerate(kinds):
                        if int(k) in pickled:
                            parts.append(f"component {c}: {sub} call {i} "
                                         f"({self.kinds[int(k)][0]}) has a Python "
                                         "object argument")
        return parts

    def component_group(self, c):
        """The group of component ``c``, or a `FileFormatError` naming what is missing."""
        key = f"components/{c}"
        link = self._link(c)
        if isinstance(link, h5py.ExternalLink):
            part = _part_path(self.path, link)
            if self.check_seal and part not in self._sealed_parts and os.path.exists(part):
                verify(part)  # before HDF5 follows the link into it
                self._sealed_parts.add(part)
            try:
                return self.file[key]
            except H5_ERRORS:
                raise FileFormatError(
                    f"{self.path!r}: component {c} is in the part file "
                    f"{link.filename!r}, which is missing or unreadable (a file saved "
                    "in parallel needs its part files next to it)") from None
        try:
            present = key in self.file
        except H5_ERRORS as e:
            raise damaged(repr(self.path), e) from None
        if not present:
            raise FileFormatError(
                f"{self.path!r} has no group /{key}: component {c} of "
                f"{self.n_components} is missing (damaged or incomplete file)"
            )
        return self.file[key]

    def _link(self, c):
        """The link that names component ``c``'s group (None if there is none)."""
        try:
            return self.file["components"].get(str(c), getlink=True)
        except H5_ERRORS:
            return None

    def check_components(self):
        """Raise `FileFormatError` if any component's group is missing."""
        for c in range(self.n_components):
            self.component_group(c)

    def load(self, components):
        """This rank's part: ``(programs, channels)`` for the given components.

        ``channels`` holds every channel with an end in one of them, in tag order.
        """
        programs, channels = [], {}
        for c in components:
            with reading(f"{self.path!r} component {c}"):
                program, chans = self._load_component(c)
            programs.append(program)
            for ch in chans:
                # Each component's table is right about its own end (after a halo build
                # the rank of one end did not know the other's view or order).
                have = channels.setdefault(ch.tag, ch)
                if have is not ch and ch.src_component == c:
                    have.src_view, have.send_after = ch.src_view, ch.send_after
                if have is not ch and ch.dst_component == c:
                    have.dst_view, have.recv_before = ch.dst_view, ch.recv_before
        return programs, [channels[t] for t in sorted(channels)]

    def _load_component(self, c):
        g = self.component_group(c)
        where = f"{self.path!r} component {c}"
        buffer = read(g, "buffer", where, schema.U8)
        views = validate.views(read(g, "views", where, schema.VIEW_DTYPE), buffer.size,
                               where)
        table = read(g, "channels", where, schema.CHANNEL_DTYPE)
        validate.channels(table, c, self.n_components, len(views), where)
        channels = [
            Channel(tag=int(r["tag"]), signal=None, src_component=int(r["src_component"]),
                    dst_component=int(r["dst_component"]), send_after=int(r["send_after"]),
                    recv_before=int(r["recv_before"]), same_step=bool(r["same_step"]),
                    src_view=int(r["src_view"]), dst_view=int(r["dst_view"]))
            for r in table
        ]

        ops_group = g["ops"] if "ops" in g else None
        setup_group = g["setup"] if "setup" in g else None
        if not (isinstance(ops_group, h5py.Group) and isinstance(setup_group, h5py.Group)):
            raise FileFormatError(f"{where}: the ops or setup group is missing")
        ops = CallReader(ops_group, self.kinds, where, self.trusted, kernel_methods())
        orders = read(ops_group, "order", where, schema.I64)
        slots = read(ops_group, "seed_slot", where, schema.I64)
        labels = read(ops_group, "label", where, schema.STRING)
        if not len(orders) == len(slots) == len(labels) == len(ops):
            raise FileFormatError(f"{where}: op tables of different lengths")
        for i, (order, slot) in enumerate(zip(orders, slots)):
            validate.in_range(order, 0, schema.MAX_ORDER, f"op {i}'s order", where)
            validate.in_range(slot, 0, max(self.n_seed_slots - 1, 0),
                              f"op {i}'s seed slot", where)
        setup = CallReader(setup_group, self.kinds, where, self.trusted,
                           schema.SETUP_METHODS)
        setup_ops = read(setup_group, "op", where, schema.I64)
        if len(setup_ops) != len(setup):
            raise FileFormatError(f"{where}: {len(setup)} setup calls for "
                                  f"{len(setup_ops)} ops")
        replays = {}
        for i, call in zip(setup_ops, setup.calls()):
            i = validate.in_range(i, 0, len(ops) - 1, "a setup call's op", where)
            replays.setdefault(i, []).append(call)
        records = [
            OpRecord(int(order), method, args, None, str(label),
                     Replay(replays[i]) if i in replays else None, int(slot))
            for i, ((method, args), order, slot, label) in enumerate(
                zip(ops.calls(), orders, slots, labels))
        ]

        bases, sparse = {}, {}
        if "python" in g:
            require_trust(self.trusted, where, "its Python operators")
            raw = read(g, "python", where, schema.U8)
            try:
                payload = cloudpickle.loads(raw.tobytes())
            except Exception as e:
                raise FileFormatError(
                    f"{where}: its Python operators cannot be loaded here "
                    f"({type(e).__name__}: {e}); the modules they use must be importable "
                    "on every rank"
                ) from e
            bases, sparse = payload["bases"], payload["sparse"]
            records += [OpRecord(order, None, (), op, label, None, slot)
                        for order, slot, label, op in payload["ops"]]
            records.sort(key=lambda r: r.order)

        layout = LoadedLayout(buffer, views, bases, sparse)
        probes = []
        for p in self.probes:
            if p["component"] == c:
                validate.in_range(p["view"], 0, len(views) - 1,
                                  f"probe {p['name']!r}'s view", where)
                validate.probe_fits_view(p, views[p["view"]], where)
                probes.append(ProbeRecord(p["index"], c, p["view"], p["period"],
                                          p["shape"], p["dtype"]))
        return Program(component=c, layout=layout, ops=records, probes=probes), channels


def _part_path(model_path, link):
    """The part file an external link of the model file points to (relative to it)."""
    return os.path.join(os.path.dirname(os.path.abspath(model_path)), link.filename)


def verify_model_files(path):
    """Check the seals of the model file ``path`` and of every part file it links to
    (`nengo_mpi.files.format.verify`): what rank 0 does once for every rank.

    Raises
    ------
    FileFormatError
        If a file is missing, unsealed, or does not match its seal.
    """
    path = os.fspath(path)
    verify(path)
    # Only the links are needed here: the tables are read (and checked) when each rank
    # opens the file.
    with open_read(path, MODEL_FORMAT, check_seal=False) as f, reading(repr(path)):
        components = f.get("components")
        links = ([components.get(k, getlink=True) for k in components]
                 if isinstance(components, h5py.Group) else [])
    for part in sorted({_part_path(path, link) for link in links
                        if isinstance(link, h5py.ExternalLink)}):
        verify(part)
