"""Checkpoints: the whole engine state at one step, written by rank 0, read by every rank.

Layout of a checkpoint file::

    /                       attrs: format, format_version, nengo_mpi_version, model_id
                            (of the model file), model_path, dt, seed, n_components,
                            step, created
    /components/<c>/buffer  uint8: every signal of component c
    /components/<c>/rng     compound: the state of every random generator of the
                            component's ops, by the op's global order (``python`` marks
                            the generator a Python fallback op was made with)

Before a checkpoint every rank *settles* its engine (completes the messages of the last
step and unpacks them, see ``Engine::settle``), so each component's buffer holds what
its next step reads, copies of other components' signals included. A checkpoint is
therefore independent of the rank count: it resumes at any number of ranks. The step
number is stored too (probe sampling and time follow it).

Not in a checkpoint: state that Python fallback ops keep inside their step functions
(e.g. a Node function's own variables, or a generator a Python process derived from the
one it was given); a resumed run restarts those.

Rank 0 receives one rank's state at a time, so its memory grows by the largest rank's
state, not the whole model's. The file is written under a temporary name and renamed,
so the previous checkpoint stays whole until the new one is complete.
"""

import datetime
import os

import h5py
import numpy as np

from .. import __version__
from . import validate
from .schema import MAX_STEP, RNG_DTYPE, U8
from .format import (
    CHECKPOINT_FORMAT, FileFormatError, create, open_read, read, reading,
    replace_atomically, seal, temporary_name, write,
)



def _rng_row(order, python, state):
    name, key, pos, has_gauss, gauss = state
    if name != "MT19937" or len(key) != 624:
        raise ValueError(f"unexpected random generator state {name!r}")
    row = np.zeros((), dtype=RNG_DTYPE)
    row["order"], row["python"], row["key"] = order, python, key
    row["pos"], row["has_gauss"], row["gauss"] = pos, has_gauss, gauss
    return row


def rank_state(host):
    """This rank's part of a checkpoint: component -> (buffer copy, rng table).

    The engine must be settled (``host.engine.settle()``) first.
    """
    eng = host.engine
    rows = {c: [] for c in host.local}
    for (comp, order), state in host.native_rng_states().items():
        rows[comp].append(_rng_row(order, False, state))
    for handle, order, comp in host.op_handles:
        if handle in host.fallback_rngs:
            rows[comp].append(_rng_row(order, True, host.fallback_rngs[handle].get_state()))
    return {
        c: (np.array(eng.buffer(li), copy=True),
            np.array(rows[c], dtype=RNG_DTYPE).reshape(-1))
        for c, li in host.local.items()
    }


def write_checkpoint(path, comm, host, meta):
    """Write a checkpoint of every rank's engine to ``path`` (collective).

    Parameters
    ----------
    path : str
        Destination (written as ``<path>.partial``, then renamed).
    comm : mpi4py.MPI.Comm or None
        The control communicator (None: this process runs every component).
    host : nengo_mpi.runtime.rank_engine.RankEngine
        This rank's engine, settled.
    meta : dict
        Root attributes: model_id, model_path, dt, seed, n_components, step.

    Raises
    ------
    OSError or FileFormatError
        On every rank, if rank 0 could not write the file.
    """
    rank = 0 if comm is None else comm.Get_rank()
    size = 1 if comm is None else comm.Get_size()
    try:
        own = rank_state(host)
    except Exception as e:  # pylint: disable=broad-except
        if comm is None:
            raise
        # Every rank still takes part (rank 0 waits for every part, the others for
        # rank 0's verdict): the failure travels in place of the state.
        own = f"rank {rank}: {type(e).__name__}: {e}"
    if rank != 0:
        comm.send(own, dest=0)
        error = comm.bcast(None, root=0)
        if error is not None:
            raise FileFormatError(f"rank 0 could not write the checkpoint: {error}")
        return
    error = None
    tmp = temporary_name(path)
    received = 1  # ranks whose state rank 0 has taken (itself first)
    try:
        with create(tmp, CHECKPOINT_FORMAT) as f:
            f.attrs.update(meta)
            f.attrs["nengo_mpi_version"] = __version__
            f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
            comps = f.create_group("components")
            _write_part(comps, own)
            while received < size:
                part = comm.recv(source=received)
                received += 1
                _write_part(comps, part)
                del part
        seal(tmp)
        replace_atomically(tmp, path)
    except Exception as e:  # pylint: disable=broad-except
        error = f"{type(e).__name__}: {e}"
        # Keep receiving: the other ranks must not be left blocked in send.
        for r in range(received, size):
            comm.recv(source=r)
        if os.path.exists(tmp):
            os.remove(tmp)
    if comm is not None:
        comm.bcast(error, root=0)
    if error is not None:
        raise FileFormatError(f"cannot write checkpoint {path!r}: {error}")


def _write_part(group, part):
    if isinstance(part, str):  # a rank that could not take its state says why
        raise RuntimeError(part)
    for c, (buffer, rng) in part.items():
        g = group.create_group(str(c))
        write(g, "buffer", buffer)
        write(g, "rng", rng)


class Checkpoint:
    """An open checkpoint file, checked against the model file it must resume.

    Parameters
    ----------
    path : str or os.PathLike
    model : nengo_mpi.files.load.ModelFile
    check_seal : bool, optional
        False when the file's seal was checked already (by rank 0, for every rank).

    Raises
    ------
    FileFormatError
        If the file is unreadable or belongs to another model.
    """

    def __init__(self, path, model, check_seal=True):
        self.path = os.fspath(path)
        self.file = open_read(self.path, CHECKPOINT_FORMAT, check_seal=check_seal)
        try:
            a, where = self.file.attrs, repr(self.path)
            self.step = validate.attr(a, "step", int, where, 0, MAX_STEP)
            model_id = validate.attr(a, "model_id", str, where)
            n_components = validate.attr(a, "n_components", int, where, 1)
            if model_id != model.model_id:
                raise FileFormatError(
                    f"checkpoint {self.path!r} was written for another model file "
                    f"(model id {model_id}; {model.path!r} has {model.model_id})"
                )
            if n_components != model.n_components:
                raise FileFormatError(
                    f"checkpoint {self.path!r} has {n_components} components, the model "
                    f"{model.n_components}"
                )
        except BaseException:
            self.file.close()
            raise

    def close(self):
        self.file.close()

    def restore(self, host):
        """Load this rank's components' state into ``host`` (before it runs)."""
        with reading(repr(self.path)):
            self._restore(host)

    def _restore(self, host):
        eng = host.engine
        by_order = {}
        for c, li in host.local.items():
            key = f"components/{c}"
            if key not in self.file or not isinstance(self.file[key], h5py.Group):
                raise FileFormatError(f"checkpoint {self.path!r} has no group /{key}")
            where = f"{self.path!r} component {c}"
            buffer = read(self.file[key], "buffer", where, U8)
            target = eng.buffer(li)
            if buffer.shape != target.shape:
                raise FileFormatError(
                    f"{where}: {buffer.size} bytes of state, the model has {target.size}")
            rows = read(self.file[key], "rng", where, RNG_DTYPE)
            for row in rows:
                order = (c, int(row["order"]))
                if order in by_order:
                    raise FileFormatError(f"{where}: two generator states for op "
                                          f"{order[1]}")
                by_order[order] = row
            target[...] = buffer
        for handle, order, comp in host.op_handles:
            row = by_order.pop((comp, order), None)
            python = handle in host.fallback_rngs
            if row is None:
                if python or eng.op_has_rng(handle):
                    raise FileFormatError(
                        f"checkpoint {self.path!r} has no random generator state for "
                        f"op {order} of component {comp}")
                continue
            draws = python or eng.op_has_rng(handle)
            if not draws or bool(row["python"]) != python:
                stored = "Python" if row["python"] else "native"
                what = ("draws no random numbers" if not draws else
                        f"is {'a Python' if python else 'a native'} op")
                raise FileFormatError(
                    f"checkpoint {self.path!r} has a {stored} generator state for op "
                    f"{order} of component {comp}, which {what}")
            state = validate.rng_row(row, f"{self.path!r} component {comp} op {order}")
            if python:
                host.fallback_rngs[handle].set_state(state)
            else:
                eng.set_rng_state(handle, state)
        if by_order:
            (comp, order), _ = next(iter(by_order.items()))
            raise FileFormatError(
                f"checkpoint {self.path!r} has a generator state for op {order} of "
                f"component {comp}, which draws no random numbers in the model")
        eng.set_steps(self.step)
