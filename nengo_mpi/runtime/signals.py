"""numpy views of the engine's buffers, keyed by nengo Signal, like nengo's SignalDict."""

from collections.abc import Mapping

import numpy as np
import scipy.sparse
from nengo.exceptions import SignalError


class ComponentSignals(Mapping):
    """A `nengo.builder.signal.SignalDict` look-alike over one component's buffer.

    Every array it returns shares memory with the engine (its ``base`` chain ends at the
    engine's buffer, which keeps the engine alive), so a fallback operator's step
    function reads and writes the engine's signals directly, with no copies per step.
    """

    def __init__(self, layout, buffer):
        self.layout = layout
        self.buffer = buffer
        self._cache = {}

    def __getitem__(self, sig):
        try:
            return self._cache[sig]
        except KeyError:
            pass
        if sig.base not in self.layout.bases:
            raise KeyError(sig)
        arr = self._at(sig, self.layout.bases[sig.base])
        self._cache[sig] = arr
        return arr

    def _at(self, sig, offset):
        """``sig`` as an array over ``self.buffer``, its base starting at ``offset``."""
        base = sig.base
        if base in self.layout.sparse:
            sp = self.layout.sparse[base]
            data = np.ndarray((sp.nnz,), dtype=sig.dtype, buffer=self.buffer, offset=offset)
            arr = scipy.sparse.csr_matrix((data, sp.indices, sp.indptr), shape=sp.shape)
        else:
            arr = np.ndarray(
                sig.shape,
                dtype=sig.dtype,
                buffer=self.buffer,
                offset=offset + sig.offset,
                strides=sig.strides,
            )
            if sig.readonly:
                arr.setflags(write=False)
        return arr

    def __setitem__(self, sig, value):
        self[sig][...] = value

    def __iter__(self):
        return iter(self.layout.bases)

    def __len__(self):
        return len(self.layout.bases)


def base_nbytes(layout, base):
    """Bytes of ``base``'s range in a component buffer (CSR values for sparse)."""
    n = layout.sparse[base].nnz if base in layout.sparse else base.size
    return n * np.dtype(base.dtype).itemsize


class SimulatorSignals(Mapping):
    """``sim.signals``: each signal from the component that writes it.

    Signals of components on this rank are zero-copy views of the engine. Signals of
    components on other ranks are fetched as read-only copies (an in-place write to a
    copy would be lost silently); ``sim.signals[sig] = value`` writes them everywhere.

    Parameters
    ----------
    home : dict
        Base signal -> component holding its authoritative copy.
    local : dict
        Component -> `.ComponentSignals`, for the components on this rank.
    rank_of : list
        Component -> rank.
    layouts : list, optional
        Every component's `.ComponentLayout` (needed for remote components).
    remote : object, optional
        Has ``read(comp, offset, nbytes) -> bytes`` and ``write(comp, offset, raw)`` for
        components on other ranks.
    """

    def __init__(self, home, local, rank_of, layouts=None, remote=None):
        self.home = home
        self.local = local
        self.rank_of = rank_of
        self.layouts = layouts
        self.remote = remote

    def _component(self, sig):
        try:
            comp = self.home[sig.base]
        except (KeyError, AttributeError):
            raise KeyError(sig) from None
        if comp not in self.local and self.remote is None:
            raise SignalError(
                f"{sig} lives in component {comp} on rank {self.rank_of[comp]}; "
                "sim.signals only shows signals of components on this rank"
            )
        return comp

    def _remote_copy(self, comp, sig):
        """``(buffer, array)``: a copy of ``sig``'s base from component ``comp`` on another
        rank, and ``sig`` as an array over that copy."""
        layout = self.layouts[comp]
        base = sig.base
        raw = bytearray(self.remote.read(comp, layout.bases[base], base_nbytes(layout, base)))
        return raw, ComponentSignals(layout, raw)._at(sig, 0)

    def _fetch(self, comp, sig):
        """A read-only copy of ``sig`` from component ``comp`` on another rank."""
        _, arr = self._remote_copy(comp, sig)
        if sig.sparse:
            arr.data.setflags(write=False)
        else:
            arr.setflags(write=False)
        return arr

    def __getitem__(self, sig):
        comp = self._component(sig)
        if comp in self.local:
            return self.local[comp][sig]
        return self._fetch(comp, sig)

    def __setitem__(self, sig, value):
        # Replicas (channel destinations, replicated constants) must agree with the
        # home copy, or the components would start from different states.
        self._component(sig)
        base = sig.base
        for comp, layout in enumerate(self.layouts or []):
            if base not in layout.bases or comp in self.local:
                continue
            raw, view = self._remote_copy(comp, sig)
            if sig.sparse:
                view.data[...] = _sparse_values(value, view, sig)
            else:
                view[...] = value
            self.remote.write(comp, layout.bases[base], bytes(raw))
        for signals in self.local.values():
            if base in signals.layout.bases:
                signals[sig][...] = value

    def __contains__(self, sig):
        return getattr(sig, "base", None) in self.home

    def __iter__(self):
        if self.remote is not None:
            return iter(self.home)
        return (b for b, c in self.home.items() if c in self.local)

    def __len__(self):
        if self.remote is not None:
            return len(self.home)
        return sum(1 for c in self.home.values() if c in self.local)


def _sparse_values(value, like, sig):
    """The CSR values of ``value``, which must have ``like``'s sparsity structure."""
    csr = scipy.sparse.csr_matrix(value, copy=True)
    csr.sort_indices()
    if csr.nnz != like.nnz or not np.array_equal(csr.indices, like.indices):
        raise SignalError(f"cannot set {sig}: the new value's nonzeros differ from its own")
    return csr.data
