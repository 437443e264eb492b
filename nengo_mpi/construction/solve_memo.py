"""What the decoder solves of connections out of one ensemble share, computed once.

Connections out of one ensemble that use the ensemble's own evaluation points solve
on the same system: the same encoded inputs ``x``, the same neuron rates ``A`` and, for
nengo's default solver (`LstsqL2` with `Cholesky`), the same regularised Gram matrix and
its Cholesky factor. Only the targets differ. nengo computes all of these again for
every connection; in a nengo_spa model about half of the solves share them with another.

`SolveMemo` keeps them for the ensembles solved most recently, and `lstsq_l2_cholesky`
solves with a kept factor. Every kept array is the one the first connection computed,
by the same operations nengo performs, so decoders are unchanged to the bit: this saves
work, not precision.
"""

import time
import weakref
from collections import OrderedDict

import numpy as np
from nengo.solvers import LstsqL2
from nengo.utils.least_squares_solvers import Cholesky, rmses

try:
    import scipy.linalg
except ImportError:  # nengo solves without scipy too: then so do we, unshared
    scipy = None

#: What the memo of one model may hold besides its newest ensemble, in bytes. The
#: newest ensemble's arrays are always kept while its connections solve, and a worker
#: solves one ensemble's connections one after another (`solve_plan.plan_chunks`), so
#: nothing more is needed there; in nengo's own build order an ensemble's connections
#: are far apart, and keeping more only raised the peak memory (cconv256: +13 MiB at
#: 64 MiB) for few hits.
MEMO_BYTES = 0

_memos = weakref.WeakKeyDictionary()  # model -> its SolveMemo


class _Shared:
    """The arrays one ensemble's solves share (see the module's docstring)."""

    def __init__(self, built_pre, x):
        self.built_pre = built_pre  # held, so that its id is not reused while kept
        self.x = x
        self.rates = None  # (activities, nonzero count), for this built_pre's gain/bias
        self.a_max = None
        self.factors = {}  # (reg, transpose) -> Cholesky factor of the regularised Gram

    def nbytes(self):
        n = self.x.nbytes
        if self.rates is not None:
            n += self.rates[0].nbytes
        return n + sum(f[0].nbytes for f in self.factors.values())


class SolveMemo:
    """The `_Shared` arrays of the ensembles solved most recently in one model."""

    def __init__(self, max_bytes=MEMO_BYTES):
        self.max_bytes = max_bytes
        self._by_pre = OrderedDict()  # id(built_pre) -> _Shared, oldest first
        self._by_x = {}  # id(x) -> _Shared

    def encoded(self, built_pre, radius):
        """``x`` for a connection that evaluates on ``built_pre``'s own points: the
        points encoded by the ensemble's encoders (nengo's ``build_decoders``)."""
        shared = self._by_pre.get(id(built_pre))
        if shared is None:
            x = np.dot(built_pre.eval_points, built_pre.encoders.T / radius)
            shared = _Shared(built_pre, x)
            self._by_pre[id(built_pre)] = shared
            self._by_x[id(x)] = shared
        self._by_pre.move_to_end(id(built_pre))
        self._trim()
        return shared.x

    def shared_for(self, x, gain, bias):
        """The `_Shared` arrays that belong to ``x`` (as `encoded` returned it) with
        this ensemble's own gain and bias, or None."""
        shared = self._by_x.get(id(x))
        if (shared is None or shared.x is not x or shared.built_pre.gain is not gain
                or shared.built_pre.bias is not bias):
            return None
        return shared

    def clear(self):
        """Drop everything kept."""
        self._by_pre.clear()
        self._by_x.clear()

    def _trim(self):
        total = sum(s.nbytes() for s in self._by_pre.values())
        while len(self._by_pre) > 1 and total > self.max_bytes:
            _, oldest = self._by_pre.popitem(last=False)
            del self._by_x[id(oldest.x)]
            total -= oldest.nbytes()


def memo_of(model):
    """``model``'s `SolveMemo` (made on first use; it goes when the model goes)."""
    memo = _memos.get(model)
    if memo is None:
        memo = _memos[model] = SolveMemo()
    return memo


def forget(model):
    """Drop what ``model``'s memo holds (at the end of its build)."""
    memo = _memos.pop(model, None)
    if memo is not None:
        memo.clear()


def rates_of(shared, compute):
    """``(activities, nonzero)`` of ``shared``, computed by ``compute()`` the first
    time."""
    if shared.rates is None:
        shared.rates = compute()
    return shared.rates


def shares_rates(solver):
    """Whether ``solver`` may be given rates that other solves share: nengo's own
    solvers (and least-squares solvers) only read their ``A``; a user's might write to
    it, so gets rates of its own, as nengo would give it."""
    inner = getattr(solver, "solver", None)
    return type(solver).__module__ == "nengo.solvers" and (
        inner is None
        or type(inner).__module__ == "nengo.utils.least_squares_solvers")


def shares_factor(solver):
    """Whether `lstsq_l2_cholesky` solves as ``solver`` does: nengo's own `LstsqL2`
    (not a subclass, which may change the regularisation) with its own `Cholesky`."""
    return (scipy is not None and type(solver) is LstsqL2
            and type(solver.solver) is Cholesky)


def lstsq_l2_cholesky(solver, shared, Y):
    """``solver(A, Y)`` for an `LstsqL2` whose `shares_factor`, with ``A`` the rates kept
    in ``shared`` and the Cholesky factor of its regularised Gram matrix computed once
    per ensemble. Each step is the one `LstsqL2` and `Cholesky` perform, on the same
    arrays, so ``X`` is theirs to the bit; ``info`` has their ``rmses`` and ``time``."""
    tstart = time.time()
    A = shared.rates[0]
    if shared.a_max is None:
        shared.a_max = A.max()
    sigma = solver.reg * shared.a_max
    m, n = A.shape
    transpose = solver.solver.transpose
    if transpose is None:
        transpose = m < n and np.size(sigma) == 1
    key = (solver.reg, bool(transpose))
    factor = shared.factors.get(key)
    if factor is None:
        G = np.dot(A, A.T) if transpose else np.dot(A.T, A)
        np.fill_diagonal(G, G.diagonal() + m * sigma**2)
        factor = scipy.linalg.cho_factor(G, overwrite_a=True)
        shared.factors[key] = factor
    b = Y if transpose else np.dot(A.T, Y)
    X = scipy.linalg.cho_solve(factor, b)
    X = np.dot(A.T, X) if transpose else X
    return X, {"rmses": rmses(A, X, Y), "time": time.time() - tstart}
