"""Stream probe data to an HDF5 file in blocks of steps, and read it back.

Layout of a probe file::

    /                  attrs: format, format_version, nengo_mpi_version, dt, model_id,
                       start_step (the step the run started from), n_steps (steps
                       written so far, from start_step), complete (False until the run
                       ended well)
    /probes/<name>     (samples, *shape) in the probe's dtype; attrs: index, label,
                       period (steps between samples), sample_every
    /times/<name>      (samples,) float64: the simulation time of each sample

``<name>`` is the probe's label and its index in the model (``"b.decoded_output #1"``).

Only rank 0 writes. It opens the file without HDF5's file locks, so that looking into
the ``.partial`` file of a running job (`load_probes` does not lock either) cannot make
the run fail. Samples are written in blocks of a fixed number of steps, counted
from step 0, that depends only on the probes (about `BLOCK_BYTES` of data): memory stays
flat however long the run, and the same model writes the same file at any rank count.
The file is opened, extended and closed for every block, so that between blocks it is
always a closed, consistent HDF5 file: a run that dies leaves its blocks so far
readable, under the temporary name ``<path>.partial`` with ``complete`` false. A run
that ends well marks the file complete and renames it to ``<path>``.
"""

import os
import warnings
from collections.abc import Mapping

import h5py
import numpy as np

from .. import __version__
from . import validate
from .format import (
    PROBES_FORMAT, FileFormatError, check_dataset, open_read, reading,
    replace_atomically, stamp, temporary_name,
)
from .schema import F64, MAX_STEP

#: Probe data kept in memory before it is written, at most (bytes).
BLOCK_BYTES = 8 << 20
#: Longest block, in steps, whatever the probes: bounds the work lost to a crash.
MAX_BLOCK_STEPS = 10000
#: Target size of one HDF5 chunk of a probe dataset (bytes).
CHUNK_BYTES = 256 << 10


class IncompleteProbeFileWarning(UserWarning):
    """A probe file was read that a run did not finish writing."""


def sample_mask(period, first, last):
    """Which of steps ``first..last`` (inclusive) a probe with this period samples.

    The engine's rule (cpp/engine.cpp, nengo's ``Probe.sample_every``): step n is
    sampled when ``fmod(n, period) < 1``.
    """
    steps = np.arange(first, last + 1, dtype=np.int64)
    return steps, np.fmod(steps.astype(np.float64), period) < 1.0


def block_steps(probes):
    """Steps per written block for these probes (see the module docstring)."""
    per_step = sum(
        np.dtype(p["dtype"]).itemsize * int(np.prod(p["shape"], dtype=np.int64))
        / max(p["period"], 1.0)
        for p in probes
    )
    if per_step <= 0:
        return MAX_BLOCK_STEPS
    return int(max(1, min(MAX_BLOCK_STEPS, BLOCK_BYTES // per_step)))


class ProbeWriter:
    """Writes probe samples to ``path`` (via ``<path>.partial``) as a run produces them.

    Parameters
    ----------
    path : str or os.PathLike
        The final file name.
    probes : list of dict
        One per probe: index, name, label, period, shape, dtype, sample_every.
    dt : float
        Time step.
    start_step : int, optional
        The step the simulation starts from (a resumed run continues a checkpoint).
    model_id : str, optional
        Id of the model file the data comes from.
    """

    def __init__(self, path, probes, dt, start_step=0, model_id=""):
        self.path = os.fspath(path)
        self.tmp = temporary_name(self.path)
        self.probes = sorted(probes, key=lambda p: p["index"])
        self.dt = float(dt)
        self.start_step = int(start_step)
        self.block = block_steps(self.probes)
        self.model_id = model_id
        # Set by the Simulator when a run failed: its samples are lost, so the file
        # cannot continue and stays incomplete.
        self.failed = False
        self._create()

    def _create(self):
        self.written_step = self.start_step  # samples through this step are on disk
        self.step = self.start_step  # samples through this step were added
        self.pending = {p["index"]: [] for p in self.probes}
        self.closed = False
        with h5py.File(self.tmp, "w", locking=False) as f:
            stamp(f, PROBES_FORMAT)
            f.attrs.update({
                "nengo_mpi_version": __version__,
                "dt": self.dt,
                "model_id": self.model_id,
                "start_step": self.start_step,
                "n_steps": 0,
                "complete": False,
            })
            data, times = f.create_group("probes"), f.create_group("times")
            for p in self.probes:
                shape = tuple(p["shape"])
                row = np.dtype(p["dtype"]).itemsize * int(np.prod(shape, dtype=np.int64))
                rows = int(max(1, min(self.block, CHUNK_BYTES // max(row, 1))))
                ds = data.create_dataset(p["name"], shape=(0,) + shape,
                                         maxshape=(None,) + shape, dtype=p["dtype"],
                                         chunks=(rows,) + shape)
                ds.attrs.update({
                    "index": p["index"],
                    "label": p["label"],
                    "period": p["period"],
                    "sample_every": np.nan if p["sample_every"] is None else
                    p["sample_every"],
                })
                times.create_dataset(p["name"], shape=(0,), maxshape=(None,),
                                     dtype=np.float64, chunks=(max(rows, 1),))

    def next_boundary(self):
        """The step at which the next block ends."""
        return (self.written_step // self.block + 1) * self.block

    def add(self, samples, through_step):
        """Take the samples of the steps after the last call through ``through_step``:
        probe index -> (n, *shape) array.

        Writes every block this completes.
        """
        for index, rows in samples.items():
            if len(rows):
                self.pending[index].append(np.asarray(rows))
        self.step = int(through_step)
        while self.step >= self.next_boundary():
            self._write_through(self.next_boundary())

    def _write_through(self, end):
        """Write the samples of steps ``written_step + 1 .. end``."""
        first = self.written_step + 1
        with h5py.File(self.tmp, "a", locking=False) as f:
            for p in self.probes:
                steps, mask = sample_mask(p["period"], first, end)
                n = int(np.count_nonzero(mask))
                rows = self._take(p["index"], n, p)
                if n == 0:
                    continue
                ds, ts = f["probes"][p["name"]], f["times"][p["name"]]
                at = ds.shape[0]
                ds.resize(at + n, axis=0)
                ds[at:] = rows
                ts.resize(at + n, axis=0)
                # nengo's trange: dt * step number, in float64.
                ts[at:] = self.dt * steps[mask]
            f.attrs["n_steps"] = end - self.start_step
        self.written_step = end

    def _take(self, index, n, probe):
        """The first ``n`` pending rows of probe ``index`` (removed from pending)."""
        parts = self.pending[index]
        if n == 0:
            return None
        have = sum(len(a) for a in parts)
        if have < n:
            raise RuntimeError(
                f"probe {probe['name']!r}: {n} samples expected through step "
                f"{self.step}, {have} received"
            )
        joined = np.concatenate(parts) if len(parts) != 1 else parts[0]
        self.pending[index] = [joined[n:]] if have > n else []
        return joined[:n]

    def read(self, index):
        """All samples of probe ``index`` so far (written and pending), as one array."""
        p = next(p for p in self.probes if p["index"] == index)
        name = self.tmp if not self.closed else self.path
        with h5py.File(name, "r", locking=False) as f:
            on_disk = f["probes"][p["name"]][()]
        parts = [on_disk] + self.pending[index]
        return np.concatenate(parts) if len(parts) > 1 else on_disk

    def restart(self):
        """Start over from ``start_step`` with an empty file (``Simulator.reset``)."""
        if self.closed:
            raise RuntimeError("the probe file is closed")
        self.failed = False
        self._create()

    def close(self, complete=True):
        """Write what is pending; if ``complete``, mark the file complete and rename it.

        An incomplete close (a failed run) leaves ``<path>.partial`` as it is.
        """
        if self.closed:
            return
        self.closed = True
        if not complete:
            return
        if self.step > self.written_step:
            self._write_through(self.step)
        with h5py.File(self.tmp, "a", locking=False) as f:
            f.attrs["complete"] = True
        replace_atomically(self.tmp, self.path)


class ProbeData(Mapping):
    """The contents of a probe file (`load_probes`): dataset name -> samples.

    Items can also be looked up by probe label (when one probe has it) or by the probe's
    index in the model. Data is read from the file on every lookup.

    Attributes
    ----------
    path : str
    dt : float
    start_step, n_steps : int
        The run covered steps ``start_step + 1 .. start_step + n_steps``.
    complete : bool
        False for the ``.partial`` file of a run that did not finish.
    labels : dict
        Dataset name -> probe label.
    indices : dict
        Dataset name -> index of the probe in the model.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        with open_read(self.path, PROBES_FORMAT, locking=False) as f, \
                reading(repr(self.path)):
            self._read_tables(f)
        self._names = sorted(self.indices, key=self.indices.get)
        if not self.complete:
            warnings.warn(
                f"{self.path} is incomplete: the run writing it did not finish; it holds "
                f"steps {self.start_step + 1}..{self.start_step + self.n_steps}",
                IncompleteProbeFileWarning,
            )

    def _read_tables(self, f):
        """The attributes and the probe tables, each checked (see `.validate`)."""
        a, where = f.attrs, repr(self.path)
        self.dt = validate.attr(a, "dt", float, where, low=1e-12)
        self.start_step = validate.attr(a, "start_step", int, where, 0, MAX_STEP)
        self.n_steps = validate.attr(a, "n_steps", int, where, 0, MAX_STEP)
        self.complete = validate.attr(a, "complete", bool, where)
        self.model_id = (validate.attr(a, "model_id", str, where)
                         if "model_id" in a else "")
        for group in ("probes", "times"):
            if not isinstance(f.get(group), h5py.Group):
                raise FileFormatError(f"{where} has no group /{group}")
        self.labels, self.indices = {}, {}
        for name, ds in f["probes"].items():
            self._check(f, name)
            self.labels[name] = validate.attr(ds.attrs, "label", str, f"{where} {name}")
            self.indices[name] = validate.attr(ds.attrs, "index", int,
                                               f"{where} {name}", 0)
        if len(set(self.indices.values())) != len(self.indices):
            raise FileFormatError(f"{where}: two probes have the same index")

    def _check(self, f, name):
        """``probes/name`` and ``times/name``: numbers, one time per sample, and
        stored whole (`.format.check_dataset`), before either is read."""
        where = repr(self.path)
        data, times = f["probes"].get(name), f["times"].get(name)
        if not isinstance(data, h5py.Dataset) or not isinstance(times, h5py.Dataset):
            raise FileFormatError(f"{where}: probe {name!r} lacks its data or its times")
        check_dataset(data, where)
        check_dataset(times, where, F64)
        if data.dtype.kind not in "biufc" or data.ndim < 1:
            raise FileFormatError(f"{where}: probe {name!r} holds {data.dtype} of shape "
                                  f"{data.shape}, not samples of numbers")
        if data.shape[0] != times.shape[0]:
            raise FileFormatError(f"{where}: probe {name!r} has {data.shape[0]} samples "
                                  f"and {times.shape[0]} times")

    def name(self, key):
        """The dataset name for a name, a unique label or a probe index."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            for name, index in self.indices.items():
                if index == key:
                    return name
            raise KeyError(f"no probe with index {key} in {self.path}")
        if key in self.indices:
            return key
        named = [n for n, label in self.labels.items() if label == key]
        if len(named) == 1:
            return named[0]
        if named:
            raise KeyError(f"{len(named)} probes are labelled {key!r} in {self.path}: "
                           f"use one of {named}")
        raise KeyError(f"no probe {key!r} in {self.path} (probes: {self._names})")

    def _read(self, group, key):
        name = self.name(key)
        with open_read(self.path, PROBES_FORMAT, locking=False) as f, \
                reading(repr(self.path)):
            self._check(f, name)
            return f[group][name][()]

    def __getitem__(self, key):
        return self._read("probes", key)

    def trange(self, key):
        """Simulation times of the samples of probe ``key``."""
        return self._read("times", key)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


def load_probes(path):
    """Read a probe file written by ``python -m nengo_mpi run`` or a Simulator.

    Parameters
    ----------
    path : str or os.PathLike
        The probe file (or the ``.partial`` file of an unfinished run, with a warning).

    Returns
    -------
    ProbeData
        A mapping from dataset name (``"<label> #<index>"``) to samples; also indexable
        by label or probe index, with ``trange(key)`` for the sample times.
    """
    return ProbeData(path)
