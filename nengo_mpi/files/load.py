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
import numpy as np

from ..lower.channels import Channel
from ..lower.layout import CODE_DTYPES
from ..lower.program import OpRecord, ProbeRecord, Program
from .codec import CallReader, read_kinds
from .format import H5_ERRORS, MODEL_FORMAT, FileFormatError, damaged, open_read, read
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

    def __init__(self, path, trust=None):
        self.path = os.fspath(path)
        self.trusted = trusted(trust)
        self.file = open_read(self.path, MODEL_FORMAT)
        try:
            a = self.file.attrs
            try:
                self.dt = float(a["dt"])
                self.seed = int(a["seed"])
                self.n_components = int(a["n_components"])
                self.n_seed_slots = int(a["n_seed_slots"])
                self.model_id = str(a["model_id"])
                self.nengo_mpi_version = str(a["nengo_mpi_version"])
                self.nengo_version = str(a["nengo_version"])
            except KeyError as e:
                raise FileFormatError(f"{self.path!r} lacks the attribute {e}") from None
            try:
                if "components" not in self.file or "kinds" not in self.file:
                    raise FileFormatError(
                        f"{self.path!r} has no components (damaged file?)")
                self.kinds = read_kinds(self.file["kinds"], repr(self.path))
                self.probes = self._read_probes()
                if not self.trusted:
                    parts = self.python_parts()
                    if parts:
                        raise refusal(self.path, parts)
            except H5_ERRORS as e:
                if isinstance(e, FileFormatError):
                    raise
                raise damaged(repr(self.path), e) from None
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
        g = self.file["probes"]
        cols = {k: read(g, k, repr(self.path)) for k in (
            "index", "component", "view", "period", "dtype", "ndim", "shape",
            "sample_every", "label", "name")}
        probes, at = [], 0
        for i in range(len(cols["index"])):
            ndim = int(cols["ndim"][i])
            shape = tuple(int(d) for d in cols["shape"][at : at + ndim])
            at += ndim
            every = float(cols["sample_every"][i])
            probes.append({
                "index": int(cols["index"][i]),
                "component": int(cols["component"][i]),
                "view": int(cols["view"][i]),
                "period": float(cols["period"][i]),
                "dtype": str(CODE_DTYPES[int(cols["dtype"][i])]),
                "shape": shape,
                "sample_every": None if np.isnan(every) else every,
                "label": str(cols["label"][i]),
                "name": str(cols["name"][i]),
            })
        return probes

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
                names = (read(g, "python_parts", where) if "python_parts" in g
                         else ["Python operators (not described in the file)"])
                parts += [f"component {c}: {name}" for name in names]
            for sub in ("ops", "setup") if pickled else ():
                if sub in g and "kind" in g[sub]:
                    for i, k in enumerate(read(g[sub], "kind", where)):
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
            try:
                program, chans = self._load_component(c)
            except H5_ERRORS as e:
                if isinstance(e, FileFormatError):
                    raise
                raise damaged(f"{self.path!r} component {c}", e) from None
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
        buffer = read(g, "buffer", where)
        views = [
            (int(v["offset"]), int(v["dtype"]),
             tuple(int(x) for x in v["shape"][: v["ndim"]]),
             tuple(int(x) for x in v["strides"][: v["ndim"]]))
            for v in read(g, "views", where)
        ]
        channels = [
            Channel(tag=int(r["tag"]), signal=None, src_component=int(r["src_component"]),
                    dst_component=int(r["dst_component"]), send_after=int(r["send_after"]),
                    recv_before=int(r["recv_before"]), same_step=bool(r["same_step"]),
                    src_view=int(r["src_view"]), dst_view=int(r["dst_view"]))
            for r in read(g, "channels", where)
        ]

        ops_group = g["ops"] if "ops" in g else None
        setup_group = g["setup"] if "setup" in g else None
        if ops_group is None or setup_group is None:
            raise FileFormatError(f"{where}: the ops or setup group is missing")
        ops = CallReader(ops_group, self.kinds, where, self.trusted)
        orders = read(ops_group, "order", where)
        slots = read(ops_group, "seed_slot", where)
        labels = read(ops_group, "label", where)
        if not len(orders) == len(slots) == len(labels) == len(ops):
            raise FileFormatError(f"{where}: op tables of different lengths")
        setup = CallReader(setup_group, self.kinds, where, self.trusted)
        setup_ops = read(setup_group, "op", where)
        replays = {}
        for i, call in zip(setup_ops, setup.calls()):
            replays.setdefault(int(i), []).append(call)
        records = [
            OpRecord(int(order), method, args, None, str(label),
                     Replay(replays[i]) if i in replays else None, int(slot))
            for i, ((method, args), order, slot, label) in enumerate(
                zip(ops.calls(), orders, slots, labels))
        ]

        bases, sparse = {}, {}
        if "python" in g:
            require_trust(self.trusted, where, "its Python operators")
            raw = read(g, "python", where)
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
        probes = [
            ProbeRecord(p["index"], c, p["view"], p["period"], p["shape"], p["dtype"])
            for p in self.probes if p["component"] == c
        ]
        return Program(component=c, layout=layout, ops=records, probes=probes), channels
