"""Make one merged operator of a group, as nengo's optimizer would.

nengo's `OpMerger.merge` does it for every kind but one: merging DotIncs that read
different ``X`` into one block-sparse `BsrDotInc` first asserts, pair by pair, that no
two share their ``X`` (and compares every copied matrix with its source). For the
groups our planner makes (hundreds of encoders of one component at once) that check is
quadratic and took most of the merge's time, so that case is made here, the same way
and with a linear check; the result is the same operator and signals (see
tests/test_planner.py).
"""

import numpy as np
from nengo.builder.operator import BsrDotInc, DotInc, reshape_dot
from nengo.builder.optimizer import Merger, OpMerger, SigMerger
from nengo.builder.signal import Signal
from nengo.rc import rc


def merge_ops(ops):
    """Merge ``ops`` (one mergeable group, in order) into one operator.

    Returns
    -------
    merged_op : Operator
        The new operator.
    replacements : dict
        Signal -> the view of a merged signal that replaces it.
    """
    if type(ops[0]) is DotInc and ops[0].X is not ops[1].X:
        return _merge_dotincs_bsr(ops)
    return OpMerger.merge(ops)


def _merge_dotincs_bsr(ops):
    """nengo's ``DotIncMerger.merge`` for DotIncs with distinct ``X``."""
    xs = [op.X for op in ops]
    if len({id(x) for x in xs}) != len(xs):
        raise ValueError("DotIncs with a shared X mixed with others")
    X, X_sigr = SigMerger.merge(xs)
    Y, Y_sigr = SigMerger.merge([op.Y for op in ops])

    data = np.array([op.A.initial_value for op in ops], dtype=rc.float_dtype)
    if data.ndim <= 2:
        raise NotImplementedError("A.ndim should be > 2")
    indptr = np.arange(len(ops) + 1, dtype=rc.int_dtype)
    indices = np.arange(len(ops), dtype=rc.int_dtype)
    name = f"bsr_merged<{ops[0].A.name}, ..., {ops[-1].A.name}>"
    readonly = all(op.A.readonly for op in ops)
    A = Signal(data, name=name, readonly=readonly)
    block_bytes = A.itemsize * np.prod(A.shape[1:])
    A_sigr = {}
    for i, op in enumerate(ops):
        A_sigr[op.A] = Signal(data[i], name=f"{op.A.name}[{i}]", base=A,
                              offset=i * block_bytes, readonly=readonly)

    reshape = reshape_dot(ops[0].A.initial_value, ops[0].X.initial_value,
                          ops[0].Y.initial_value, tag=ops[0].tag)
    return (
        BsrDotInc(A, X, Y, indices=indices, indptr=indptr, reshape=reshape),
        Merger.merge_dicts(X_sigr, Y_sigr, A_sigr),
    )
