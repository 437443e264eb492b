"""Native engine kernels against nengo's numpy implementation of the same operators.

Each test builds a small `nengo.builder.Model` by hand, runs it in ``nengo.Simulator``
(the reference) and in `nengo_mpi.Simulator` side by side, and compares every signal
the operators touch after every step. Each test also checks that the operator under
test ran as the expected native kernel, so a silent fallback to Python fails the test.
"""

import nengo
import numpy as np
import pytest
import scipy.sparse
from nengo.builder import Model
from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import (
    BsrDotInc,
    Copy,
    DotInc,
    ElementwiseInc,
    Reset,
    SparseDotInc,
)
from nengo.builder.processes import SimProcess
from nengo.builder.signal import Signal
from nengo.transforms import SparseMatrix

import nengo_mpi

from kernel_harness import (
    DT,
    N_STEPS,
    assert_signals_match,
    model_signals,
    op_kinds,
    random_signal,
    run_against_nengo,
)


@pytest.mark.parametrize("n_steps", [1, 7, N_STEPS])
def test_time_update(n_steps):
    """TimeUpdate counts steps and sets time = step * dt exactly, as nengo does."""
    model = Model(dt=DT)
    run_against_nengo(model, ["TimeUpdate"], n_steps=n_steps)

    with nengo_mpi.Simulator(None, model=Model(dt=0.0007), progress_bar=False) as sim:
        sim.run_steps(n_steps)
        assert sim.signals[sim.model.step] == n_steps
        assert sim.signals[sim.model.time] == n_steps * 0.0007
        assert sim.n_steps == n_steps
        assert sim.time == n_steps * 0.0007


@pytest.mark.parametrize(
    "make_dst",
    [
        pytest.param(lambda rng: random_signal(rng, 7, "dst"), id="1d"),
        pytest.param(lambda rng: random_signal(rng, (3, 4), "dst"), id="2d"),
        pytest.param(lambda rng: random_signal(rng, (5, 3), "dst")[1:4], id="2d-rows"),
        pytest.param(lambda rng: random_signal(rng, 11, "dst")[1::3], id="strided"),
    ],
)
def test_reset(rng, make_dst):
    """Reset sets its (contiguous or strided) target to the value every step.

    An increment after the reset makes a missed reset accumulate, and the rest of the
    base signal must stay as it was.
    """
    model = Model(dt=DT)
    dst = make_dst(rng)
    model.add_op(Reset(dst, 0.625))
    A = random_signal(rng, dst.shape, "A")
    X = random_signal(rng, dst.shape, "X")
    model.add_op(ElementwiseInc(A, X, dst))
    run_against_nengo(model, ["Reset", "ElementwiseInc"], exact=[dst.base])


# --- Copy ---------------------------------------------------------------------


COPY_CASES = {
    # name: (src size, dst size, src_slice, dst_slice, inc); lists work like arrays
    "plain": (6, 6, None, None, False),
    "plain-inc": (6, 6, None, None, True),
    "int-slices": (7, 5, np.array([0, -1, 3, -4]), np.array([4, -5, 1, 2]), False),
    "int-slices-inc": (7, 5, [6, -7, 2], [-1, 0, 3], True),
    "src-slice-only": (9, 3, [8, 0, -2], None, False),
    "dst-slice-only": (3, 8, None, [7, -8, 2], True),
    "bool-masks": (
        6,
        5,
        np.array([1, 0, 1, 1, 0, 0], dtype=bool),
        np.array([0, 1, 0, 1, 1], dtype=bool),
        False,
    ),
    "repeated-dst-inc": (5, 4, [0, 1, 2, 3, 4], [2, 0, 2, -2, 0], True),
    "broadcast": (1, 5, None, None, False),
    "broadcast-inc": (1, 5, None, None, True),
    "broadcast-sliced": (4, 6, [-1], [0, 3, 5], True),
}


@pytest.mark.parametrize("case", list(COPY_CASES))
def test_copy(rng, case):
    """Copy with plain, int-array, negative, bool-mask and repeated indices."""
    n_src, n_dst, src_slice, dst_slice, inc = COPY_CASES[case]
    model = Model(dt=DT)
    src = random_signal(rng, n_src, "src")
    dst = random_signal(rng, n_dst, "dst")
    model.add_op(Copy(src, dst, src_slice=src_slice, dst_slice=dst_slice, inc=inc))
    run_against_nengo(
        model,
        ["Copy"],
        inputs={src: rng.uniform(-1, 1, size=(N_STEPS, n_src))},
        exact=[src, dst],
    )


@pytest.mark.parametrize("inc", [False, True])
def test_copy_strided_views(rng, inc):
    """Copy between strided (also negatively strided) views of larger signals.

    Views are taken of base signals only: nengo 4.1 computes the offset of a view of a
    view relative to its parent, so its own reference simulator rejects those.
    """
    model = Model(dt=DT)
    big_src = random_signal(rng, 12, "big_src")
    big_dst = random_signal(rng, 13, "big_dst")
    other_dst = random_signal(rng, 13, "other_dst")
    src_slice, dst_slice = np.array([5, 0, -3]), np.array([0, 2, 3])
    model.add_op(Copy(big_src[::2], big_dst[1::3], src_slice, dst_slice, inc=inc))
    model.add_op(Copy(big_src[::-3], other_dst[::-4], inc=inc))
    run_against_nengo(
        model,
        ["Copy"],
        inputs={big_src: rng.uniform(-1, 1, size=(N_STEPS, 12))},
        exact=[big_src, big_dst, other_dst],
    )


# --- ElementwiseInc -----------------------------------------------------------


ELEMENTWISE_CASES = {
    # name: (A shape, X shape, Y shape)
    "same-1d": ((6,), (6,), (6,)),
    "same-2d": ((3, 4), (3, 4), (3, 4)),
    "outer": ((4, 1), (1, 3), (4, 3)),
    "rows": ((1, 5), (2, 5), (2, 5)),
    "cols": ((3, 4), (3, 1), (3, 4)),
    "scalar-a": ((), (5,), (5,)),
    "length-1-a": ((1,), (5,), (5,)),
    "scalar-x": ((2, 3), (), (2, 3)),
    "all-scalar": ((), (), ()),
}


@pytest.mark.parametrize("case", list(ELEMENTWISE_CASES))
def test_elementwise_inc(rng, case):
    """ElementwiseInc Y += A * X with nengo's 2-D broadcasting rules."""
    a_shape, x_shape, y_shape = ELEMENTWISE_CASES[case]
    model = Model(dt=DT)
    A = random_signal(rng, a_shape, "A")
    X = random_signal(rng, x_shape, "X")
    Y = random_signal(rng, y_shape, "Y")
    model.add_op(ElementwiseInc(A, X, Y))
    run_against_nengo(
        model,
        ["ElementwiseInc"],
        inputs={X: rng.uniform(-1, 1, size=(N_STEPS,) + x_shape)},
        exact=[A, X, Y],
    )


def test_elementwise_inc_views(rng):
    """ElementwiseInc on 2-D views with row/column strides (some negative)."""
    model = Model(dt=DT)
    big_a = random_signal(rng, (5, 7), "big_a")
    big_x = random_signal(rng, (4, 8), "big_x")
    big_y = random_signal(rng, (6, 6), "big_y")
    A, X, Y = big_a[1:4, ::2], big_x[3:0:-1, 2:3], big_y[::2, 1:5]
    model.add_op(ElementwiseInc(A, X, Y))
    run_against_nengo(
        model,
        ["ElementwiseInc"],
        inputs={big_x: rng.uniform(-1, 1, size=(N_STEPS, 4, 8))},
        exact=[big_a, big_x, big_y],
    )


# --- DotInc -------------------------------------------------------------------


def dot_inc_case(rng, case):
    """(A, X, Y, driven signal) for one DotInc case."""
    if case == "matrix-vector":
        A = random_signal(rng, (4, 7), "A")
        X = random_signal(rng, 7, "X")
        return A, X, random_signal(rng, 4, "Y"), X
    if case == "matrix-column":
        A = random_signal(rng, (3, 5), "A")
        X = random_signal(rng, (5, 1), "X")
        return A, X, random_signal(rng, (3, 1), "Y"), X
    if case == "sliced-matrix":
        base = random_signal(rng, (8, 11), "A_base")
        X = random_signal(rng, 6, "X")
        return base[2:6, 3:9], X, random_signal(rng, 4, "Y"), X
    if case == "strided-matrix":
        base = random_signal(rng, (9, 10), "A_base")
        X_base = random_signal(rng, 12, "X_base")
        Y_base = random_signal(rng, 10, "Y_base")
        return base[::2, ::-2], X_base[1:11:2], Y_base[::-2], X_base
    if case == "one-column":
        # A one-element X (a slice of a larger signal) into a long Y: as a Node's
        # scalar inhibits an ensemble's neurons. Its fast path must not depend on the
        # stride the layout gives the one element.
        A = random_signal(rng, (40, 1), "A")
        X_base = random_signal(rng, 5, "X_base")
        return A, X_base[3:4], random_signal(rng, 40, "Y"), X_base
    if case == "one-column-of-matrix":
        base = random_signal(rng, (30, 4), "A_base")
        X = random_signal(rng, 1, "X")
        return base[:, 2:3], X, random_signal(rng, 30, "Y"), X
    if case == "vector-vector":
        A = random_signal(rng, 6, "A")
        X = random_signal(rng, 6, "X")
        return A, X, random_signal(rng, 1, "Y"), X
    if case == "vector-vector-0d":
        A = random_signal(rng, 6, "A")
        X = random_signal(rng, 6, "X")
        return A, X, Signal(np.array(0.25), name="Y"), X
    if case == "scalar-a":
        A = Signal(np.array(-1.75), name="A")
        X = random_signal(rng, 5, "X")
        return A, X, random_signal(rng, 5, "Y"), X
    if case == "scalar-x":
        A = random_signal(rng, 5, "A")
        X = Signal(np.array(0.5), name="X")
        return A, X, random_signal(rng, 5, "Y"), X
    raise ValueError(case)


@pytest.mark.parametrize(
    "case",
    [
        "matrix-vector",
        "matrix-column",
        "sliced-matrix",
        "strided-matrix",
        "one-column",
        "one-column-of-matrix",
        "vector-vector",
        "vector-vector-0d",
        "scalar-a",
        "scalar-x",
    ],
)
def test_dot_inc(rng, case):
    """DotInc: matrix @ vector (contiguous or strided A), vector . vector, scalar * X.

    A scalar factor is an elementwise product, which the engine runs as ElementwiseInc.
    """
    model = Model(dt=DT)
    A, X, Y, driven = dot_inc_case(rng, case)
    model.add_op(DotInc(A, X, Y))
    kind = "ElementwiseInc" if case.startswith("scalar") else "DotInc"
    run_against_nengo(
        model,
        [kind],
        inputs={driven: rng.uniform(-1, 1, size=(N_STEPS,) + driven.shape)},
        exact=[A.base, X.base],
    )


# --- SparseDotInc, BsrDotInc --------------------------------------------------


def sparse_case(rng, case):
    """The initial value of a sparse 5 x 8 matrix."""
    if case == "sparse-matrix":
        # nengo's own format; a repeated (row, col) pair is summed, row 3 is empty
        indices = np.array(
            [[0, 1], [0, 7], [1, 0], [2, 2], [2, 5], [4, 6], [4, 1], [0, 7]]
        )
        return SparseMatrix(indices, rng.uniform(-1, 1, size=len(indices)), (5, 8))
    if case == "csr":
        dense = rng.uniform(-1, 1, size=(5, 8)) * (rng.uniform(size=(5, 8)) < 0.4)
        dense[2] = 0.0
        return scipy.sparse.csr_matrix(dense)
    if case == "csr-unsorted":
        # valid CSR whose column indices are not sorted within each row
        indptr = np.array([0, 2, 3, 3, 6, 7])
        indices = np.array([5, 1, 0, 7, 2, 4, 3])
        data = rng.uniform(-1, 1, size=len(indices))
        csr = scipy.sparse.csr_matrix((data, indices, indptr), shape=(5, 8))
        assert not csr.has_sorted_indices
        return csr
    raise ValueError(case)


@pytest.mark.parametrize("case", ["sparse-matrix", "csr", "csr-unsorted"])
def test_sparse_dot_inc(rng, case):
    """SparseDotInc with A from a nengo SparseMatrix or a scipy CSR matrix."""
    model = Model(dt=DT)
    A = Signal(sparse_case(rng, case), name="A", readonly=True)
    X = random_signal(rng, 8, "X")
    Y = random_signal(rng, 5, "Y")
    model.add_op(SparseDotInc(A, X, Y))
    run_against_nengo(
        model,
        ["SparseDotInc"],
        inputs={X: rng.uniform(-1, 1, size=(N_STEPS, 8))},
        exact=[X],
    )


def test_bsr_dot_inc(rng):
    """BsrDotInc with several blocks per row, unsorted block columns, an empty row."""
    br, bc = 3, 2
    indptr = np.array([0, 2, 2, 5, 6])  # block row 1 is empty
    indices = np.array([2, 0, 1, 3, 0, 2])  # 4 block columns, unsorted within rows
    model = Model(dt=DT)
    A = random_signal(rng, (len(indices), br, bc), "A")
    X = random_signal(rng, 4 * bc, "X")
    Y = random_signal(rng, (len(indptr) - 1) * br, "Y")
    model.add_op(BsrDotInc(A, X, Y, indices=indices, indptr=indptr, reshape=False))
    run_against_nengo(
        model,
        ["BsrDotInc"],
        inputs={X: rng.uniform(-1, 1, size=(N_STEPS, 4 * bc))},
        exact=[A, X],
    )


def test_bsr_dot_inc_merged(rng):
    """BsrDotInc as nengo's optimizer makes it: one block per row, diagonal."""
    n_blocks, br, bc = 3, 4, 5
    model = Model(dt=DT)
    A = random_signal(rng, (n_blocks, br, bc), "A")
    X = random_signal(rng, n_blocks * bc, "X")
    Y = random_signal(rng, n_blocks * br, "Y")
    indices, indptr = np.arange(n_blocks), np.arange(n_blocks + 1)
    model.add_op(BsrDotInc(A, X, Y, indices=indices, indptr=indptr, reshape=False))
    run_against_nengo(
        model,
        ["BsrDotInc"],
        inputs={X: rng.uniform(-1, 1, size=(N_STEPS, n_blocks * bc))},
        exact=[A, X],
    )


def test_bsr_dot_inc_strided_blocks(rng):
    """Blocks taken from every other element of a base are not one run of elements, as
    the kernel reads them: the op runs in Python (it used to run natively on the wrong
    elements)."""
    n_blocks = 3
    model = Model(dt=DT)
    A = random_signal(rng, (2 * n_blocks, 1, 1), "A")[::2]
    X = random_signal(rng, n_blocks, "X")
    Y = random_signal(rng, n_blocks, "Y")
    indices, indptr = np.arange(n_blocks), np.arange(n_blocks + 1)
    model.add_op(BsrDotInc(A, X, Y, indices=indices, indptr=indptr, reshape=False))
    kinds, _ = run_against_nengo(model, ["Python"], native=False, exact=[A, X])
    assert "BsrDotInc" not in kinds


# --- Several kernels, many steps per engine call ------------------------------


def test_run_steps_in_one_call(rng):
    """A small recurrent pipeline, run 50 steps in one call, ends where nengo does.

    bias + encoders @ x -> LIF -> Lowpass -> decoders @ filtered -> Lowpass back into
    x (an update), so every kernel sees inputs that change from step to step.
    """
    n_in, n = 3, 40
    model = Model(dt=DT)
    x = random_signal(rng, n_in, "x")
    encoders = random_signal(rng, (n, n_in), "encoders", -2, 2)
    bias = random_signal(rng, n, "bias", 0.5, 2.5)
    J = Signal(np.zeros(n), name="J")
    spikes = Signal(np.zeros(n), name="spikes")
    voltage = random_signal(rng, n, "voltage", 0, 1)
    refractory = Signal(np.zeros(n), name="refractory_time")
    filtered = Signal(np.zeros(n), name="filtered")
    decoders = random_signal(rng, (n_in, n), "decoders", -0.01, 0.01)
    decoded = Signal(np.zeros(n_in), name="decoded")

    lif_state = {"voltage": voltage, "refractory_time": refractory}
    model.add_op(Copy(bias, J))
    model.add_op(DotInc(encoders, x, J))
    model.add_op(SimNeurons(nengo.LIF(), J, spikes, state=lif_state))
    X_filtered = Signal(np.zeros((1, n)), name="X_filtered")
    model.add_op(
        SimProcess(nengo.Lowpass(0.01), spikes, filtered, model.time,
                   mode="set", state={"X": X_filtered})
    )
    model.add_op(Reset(decoded))
    model.add_op(DotInc(decoders, filtered, decoded))
    X_x = Signal(np.zeros((1, n_in)), name="X_x")
    model.add_op(
        SimProcess(nengo.Lowpass(0.02), decoded, x, model.time,
                   mode="update", state={"X": X_x})
    )
    signals = model_signals(model)

    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    try:
        kinds = op_kinds(sim)
        for kind in ["TimeUpdate", "Copy", "DotInc", "LIF", "LinearFilter", "Reset"]:
            assert kind in kinds, kinds
        assert "Python" not in kinds, kinds
        ref.run_steps(N_STEPS)
        sim.run_steps(N_STEPS)
        assert sim.n_steps == N_STEPS
        exact = [model.step, model.time]
        assert_signals_match(sim, ref, signals, exact, f"{N_STEPS} steps")
        # the premise: neurons spiked, and their activity fed back into x
        assert np.any(ref.signals[filtered] > 0)
        assert np.all(ref.signals[x] != x.initial_value)
    finally:
        sim.close()
        ref.close()
