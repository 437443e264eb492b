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
        base = sig.base
        if base not in self.layout.bases:
            raise KeyError(sig)
        offset = self.layout.bases[base]
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
        self._cache[sig] = arr
        return arr

    def __setitem__(self, sig, value):
        self[sig][...] = value

    def __iter__(self):
        return iter(self.layout.bases)

    def __len__(self):
        return len(self.layout.bases)


class SimulatorSignals(Mapping):
    """``sim.signals``: each signal from the component that writes it.

    Parameters
    ----------
    home : dict
        Base signal -> component holding its authoritative copy.
    local : dict
        Component -> `.ComponentSignals`, for the components on this rank.
    rank_of : list
        Component -> rank, for the error when a signal lives elsewhere.
    """

    def __init__(self, home, local, rank_of):
        self.home = home
        self.local = local
        self.rank_of = rank_of

    def _component(self, sig):
        try:
            comp = self.home[sig.base]
        except (KeyError, AttributeError):
            raise KeyError(sig) from None
        if comp not in self.local:
            raise SignalError(
                f"{sig} lives in component {comp} on rank {self.rank_of[comp]}; "
                "sim.signals only shows signals of components on this rank"
            )
        return comp

    def __getitem__(self, sig):
        return self.local[self._component(sig)][sig]

    def __setitem__(self, sig, value):
        # Replicas (channel destinations, replicated constants) must agree with the
        # home copy, or the components would start from different states.
        self._component(sig)
        for signals in self.local.values():
            if sig.base in signals.layout.bases:
                signals[sig][...] = value

    def __contains__(self, sig):
        return getattr(sig, "base", None) in self.home

    def __iter__(self):
        return (b for b, c in self.home.items() if c in self.local)

    def __len__(self):
        return sum(1 for c in self.home.values() if c in self.local)
