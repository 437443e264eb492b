"""Lay out one component's signals in a single byte buffer, with a table of views.

Every base signal gets a byte range; every view the engine needs is an entry
``(byte_offset, dtype_code, shape, strides_in_elements)``. Native kernels address signals
only through view ids, and the Python fallback builds numpy arrays on the same bytes.
"""

import numpy as np
import scipy.sparse
from nengo.builder.signal import Signal
from nengo.exceptions import BuildError
from nengo.transforms import SparseMatrix

#: numpy dtype -> the engine's dtype code (see cpp/signals/buffer.hpp).
DTYPE_CODES = {
    np.dtype(t): code
    for code, t in enumerate(
        [np.float64, np.float32, np.int64, np.int32, np.bool_, np.float16, np.int16,
         np.int8, np.uint8, np.uint16, np.uint32, np.uint64, np.complex64, np.complex128]
    )
}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}
F64 = DTYPE_CODES[np.dtype(np.float64)]

#: Base signals start on a cache line, so that batches of them can later be vectorised
#: without peeling; the padding costs at most 56 bytes per signal.
ALIGN = 64


def as_csr(value):
    """The CSR form nengo's SignalDict would allocate for a sparse initial value."""
    if isinstance(value, SparseMatrix):
        value = value.allocate()
    # copy=True: sort_indices() works in place and must not reorder (or, as nengo makes
    # sparse data read-only, fail on) the Signal's own initial value.
    csr = scipy.sparse.csr_matrix(value, copy=True)
    csr.sort_indices()
    return csr


class SparseLayout:
    """Structure of a sparse signal whose nonzero values live in the buffer."""

    def __init__(self, csr):
        self.data = np.asarray(csr.data)
        self.shape = csr.shape
        self.indptr = np.asarray(csr.indptr, dtype=np.int64)
        self.indices = np.asarray(csr.indices, dtype=np.int64)
        self.nnz = int(csr.nnz)


class ComponentLayout:
    """Byte layout and view table of one component.

    Attributes
    ----------
    bases : dict
        Base `.Signal` -> byte offset of its first element.
    sparse : dict
        Sparse base `.Signal` -> `.SparseLayout` (its buffer range holds the CSR values).
    views : list of tuple
        ``(byte_offset, dtype_code, shape, strides)`` per view id.
    nbytes : int
        Size of the buffer.
    """

    def __init__(self):
        self.bases = {}
        self.sparse = {}
        self.views = []
        self._view_ids = {}
        self.nbytes = 0

    def add(self, sig):
        """Reserve space for ``sig``'s base signal (once)."""
        base = sig.base
        if base in self.bases:
            return
        if base.sparse:
            sp = SparseLayout(as_csr(base.initial_value))
            self.sparse[base] = sp
            dtype, size = np.dtype(base.dtype), sp.nnz
        else:
            dtype, size = np.dtype(base.dtype), base.size
        if dtype not in DTYPE_CODES:
            raise BuildError(
                f"{base!r} has dtype {dtype}, which the nengo_mpi engine cannot store "
                f"(supported: {', '.join(str(d) for d in DTYPE_CODES)})"
            )
        offset = -(-self.nbytes // ALIGN) * ALIGN
        self.bases[base] = offset
        self.nbytes = offset + size * dtype.itemsize

    def offset(self, sig):
        """Byte offset of ``sig``'s first element (``sig`` may be a view)."""
        return self.bases[sig.base] + (0 if sig.sparse else sig.offset)

    def raw_view(self, byte_offset, dtype, shape, strides):
        """Return the id of a view given explicitly (deduplicated)."""
        key = (
            int(byte_offset),
            DTYPE_CODES[np.dtype(dtype)],
            tuple(int(s) for s in shape),
            tuple(int(s) for s in strides),
        )
        if key not in self._view_ids:
            self._view_ids[key] = len(self.views)
            self.views.append(key)
        return self._view_ids[key]

    def view(self, sig):
        """The view of ``sig`` with its own shape and strides."""
        if sig.sparse:
            sp = self.sparse[sig.base]
            return self.raw_view(self.offset(sig), sig.dtype, (sp.nnz,), (1,))
        return self.raw_view(self.offset(sig), sig.dtype, sig.shape, sig.elemstrides)

    def vector_view(self, sig):
        """A view of ``sig`` as a 1-D run of elements, or None if it has no such form.

        Any signal with at most one axis longer than 1 is a strided vector; a
        C-contiguous signal of any shape is one too (flattened).
        """
        if sig.sparse:
            return None
        long_axes = [d for d, n in enumerate(sig.shape) if n != 1]
        if len(long_axes) <= 1:
            stride = sig.elemstrides[long_axes[0]] if long_axes else 1
            return self.raw_view(self.offset(sig), sig.dtype, (sig.size,), (stride,))
        if is_c_contiguous(sig):
            return self.raw_view(self.offset(sig), sig.dtype, (sig.size,), (1,))
        return None

    def matrix_view(self, sig, shape):
        """A 2-D view of ``sig`` with the given shape (same size), or None.

        Axes of length 1 get stride 0 so the engine can broadcast them.
        """
        rows, cols = shape
        if sig.sparse or rows * cols != sig.size:
            return None
        if sig.ndim == 2 and tuple(sig.shape) == (rows, cols):
            strides = sig.elemstrides
        elif sig.ndim <= 1 or is_c_contiguous(sig):
            step = sig.elemstrides[-1] if sig.ndim >= 1 else 1
            if sig.ndim > 1 and step != 1:
                return None
            strides = (cols * step, step)
        else:
            return None
        strides = tuple(0 if n == 1 else s for n, s in zip((rows, cols), strides))
        return self.raw_view(self.offset(sig), sig.dtype, (rows, cols), strides)

    def initial_bytes(self):
        """The buffer holding every base signal's initial value."""
        buf = np.zeros(self.nbytes, dtype=np.uint8)
        self.fill(buf)
        return buf

    def fill(self, buf):
        """Write every base signal's initial value into ``buf`` (``nbytes`` bytes,
        zeros where no signal lies), e.g. an engine's buffer in place."""
        buf[: self.nbytes] = 0
        for base, offset in self.bases.items():
            if base in self.sparse:
                values = self.sparse[base].data.astype(base.dtype)
            else:
                values = np.ascontiguousarray(base.initial_value, dtype=base.dtype)
            raw = values.reshape(-1).view(np.uint8)
            buf[offset : offset + raw.size] = raw


def is_c_contiguous(sig):
    """Whether a (non-sparse) signal's elements are contiguous in row-major order."""
    expected = 1
    for n, s in zip(reversed(sig.shape), reversed(sig.elemstrides)):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


#: Element types the native kernels compute in (nengo's 64- and 32-bit precision).
REAL_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def same_real_dtype(*sigs):
    """True if every given signal (None ignored) has one dtype, float64 or float32."""
    dtypes = {np.dtype(s.dtype) for s in sigs if s is not None and isinstance(s, Signal)}
    if any(s is not None and not isinstance(s, Signal) for s in sigs):
        return False
    return len(dtypes) <= 1 and dtypes <= set(REAL_DTYPES)
