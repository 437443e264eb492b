"""Sizes and values the engine's native ops take from Python and from signals (which a
model file or checkpoint can set to anything) are checked before they reach pointer or
integer arithmetic: what used to overflow, convert a NaN to an integer or read outside
a view is an error that names the problem (``make sanitize`` runs these under
AddressSanitizer and UndefinedBehaviorSanitizer).
"""

import math

import numpy as np
import pytest

from nengo_mpi import _engine
from nengo_mpi.lower.layout import DTYPE_CODES

F64 = DTYPE_CODES[np.dtype(np.float64)]
NBYTES = 64  # eight float64 values; the engine allocates exactly this
SET = 0  # write mode
PERIODIC, PRESENTATION = 0, 1  # time table rules


def _engine_with(values=()):
    """An engine with one component of eight float64 values, the first ones given."""
    eng = _engine.Engine(0.001)
    initial = np.zeros(NBYTES // 8)
    initial[: len(values)] = values
    return eng, eng.add_component(0, initial.view(np.uint8))


def _vector(eng, local, index, n=1, stride=1):
    """A float64 view of ``n`` elements from element ``index``."""
    return eng.add_view(local, 8 * index, F64, [n], [stride])


# --- BsrDotInc -------------------------------------------------------------------------


def test_bsr_blocks_whose_size_overflows_are_refused():
    """2**32 x 2**32 blocks over empty X and Y: the block size wrapped around to 0 and
    the number of blocks was then divided by it."""
    eng, local = _engine_with()
    empty = eng.add_view(local, NBYTES, F64, [0], [1])
    data = _vector(eng, local, 0, 8)
    with pytest.raises(ValueError, match="4294967296 x 4294967296 elements overflow"):
        eng.add_bsr_dot_inc(local, 0, data, empty, empty, 2**32, 2**32, [0], [])


@pytest.mark.parametrize(
    "index, stride",
    [pytest.param(7, -1, id="reversed"), pytest.param(0, 0, id="repeating")],
)
def test_bsr_blocks_must_be_contiguous(index, stride):
    """The kernel reads the blocks as one run of elements: a reversed or repeating data
    view was read past the end of the buffer."""
    eng, local = _engine_with()
    data = _vector(eng, local, index, 8, stride)
    x, y = _vector(eng, local, 0, 4), _vector(eng, local, 0, 2)
    match = f"blocks must be contiguous \\(stride {stride}\\)"
    with pytest.raises(ValueError, match=match):
        eng.add_bsr_dot_inc(local, 0, data, x, y, 2, 4, [0, 1], [0])
        eng.finalize()
        eng.run(1)


# --- Convolutions ----------------------------------------------------------------------


def _conv_views(eng, local, n_x=1, n_y=1, n_w=1):
    """Views W, X and Y (all from element 0)."""
    return tuple(_vector(eng, local, 0, n) for n in (n_w, n_x, n_y))


def test_a_convolution_kernel_whose_size_overflows_is_refused():
    """A 2**32 x 2**32 kernel has 2**64 weights, which wrapped around to an empty one
    (matching an empty W view) and was then read outside it."""
    eng, local = _engine_with()
    _, x, y = _conv_views(eng, local)
    w = eng.add_view(local, NBYTES, F64, [0], [1])
    with pytest.raises(ValueError, match="ConvInc: sizes overflow 64 bits"):
        eng.add_conv_inc(local, 0, w, x, y, (1, 1, 1), (1, 1, 1), (2**32, 2**32), (1, 1),
                         (0, 0), 1, True)


def test_convolution_strides_that_overflow_are_refused():
    """Output row i reads input row i * stride: with 3 output rows and a stride of
    2**62, row 2 is past 2**63."""
    eng, local = _engine_with()
    w, x, y = _conv_views(eng, local, n_y=3)
    match = f"ConvInc: sizes overflow 64 bits: 2 {2**62}"
    with pytest.raises(ValueError, match=match):
        eng.add_conv_inc(local, 0, w, x, y, (1, 1, 1), (3, 1, 1), (1, 1), (2**62, 1),
                         (0, 0), 1, True)


def test_a_transposed_convolution_extent_that_overflows_is_refused():
    eng, local = _engine_with()
    w, x, y = _conv_views(eng, local, n_x=2)
    with pytest.raises(ValueError, match="ConvTransposeInc: sizes overflow 64 bits"):
        eng.add_conv_transpose_inc(local, 0, w, x, y, (2, 1, 1), (1, 1, 1), (1, 1),
                                   (2**62, 1), (0, 0), (1, 1), True)


# --- Time tables (WhiteSignal, PresentInput, Piecewise) --------------------------------


def _time_table(values, rule, dt=0.001, param=0.0, rows=3):
    """A table of ``rows`` one-value rows 10, 20, ..., read at the time in element 0;
    returns the engine, its buffer and the output's element (1)."""
    eng, local = _engine_with(values)
    table = 10.0 * np.arange(1, rows + 1)
    eng.add_time_table(local, 0, _vector(eng, local, 1), _vector(eng, local, 0), SET, rule,
                       dt, param, [], table)
    eng.finalize()
    return eng, eng.buffer(local).view(np.float64)


def test_a_time_table_needs_a_time():
    """The time is read through a pointer: an empty view (here just past the end of the
    buffer) is refused."""
    eng, local = _engine_with()
    t = eng.add_view(local, NBYTES, F64, [0], [1])
    with pytest.raises(ValueError, match="time has 0 elements, expected 1"):
        eng.add_time_table(local, 0, _vector(eng, local, 1), t, SET, PERIODIC, 0.001, 0.0,
                           [], [1.0, 2.0])
        eng.finalize()
        eng.run(1)


@pytest.mark.parametrize("t", [1e300, -1e300, 2.0**70 + 0.002, 12.345])
def test_a_time_far_beyond_int64_picks_the_row_python_would(t):
    """WhiteSignal's row is int(round(t / dt)) % rows in Python's unbounded integers;
    times whose step number does not fit an int64 get the same row (the conversion to
    int64 used to be undefined behaviour)."""
    eng, values = _time_table([t], PERIODIC)
    eng.run(1)
    assert values[1] == 10.0 * (int(round(t / 0.001)) % 3 + 1)


@pytest.mark.parametrize(
    "t, rule, dt, param",
    [
        pytest.param(math.nan, PERIODIC, 0.001, 0.0, id="nan-time"),
        pytest.param(math.inf, PERIODIC, 0.001, 0.0, id="infinite-time"),
        pytest.param(0.0, PERIODIC, 0.0, 0.0, id="dt-0"),
        pytest.param(1.0, PRESENTATION, 0.001, 0.0, id="presentation-time-0"),
        pytest.param(math.nan, PRESENTATION, 0.001, 0.5, id="presentation-nan"),
    ],
)
def test_a_time_with_no_table_row_is_an_error(t, rule, dt, param):
    """Where Python's int() raises (NaN, infinities), the op raises too."""
    eng, _ = _time_table([t], rule, dt=dt, param=param)
    with pytest.raises(ValueError, match="cannot convert .* to a table row"):
        eng.run(1)


def test_present_input_far_beyond_int64_picks_the_row_python_would():
    t, presentation_time = 1e200, 0.25
    eng, values = _time_table([t], PRESENTATION, param=presentation_time)
    eng.run(1)
    row = int((t - 0.001) / presentation_time + 1e-7) % 3
    assert values[1] == 10.0 * (row + 1)


# --- Triangle ----------------------------------------------------------------------------


@pytest.mark.parametrize("counter", [math.nan, math.inf, -math.inf])
def test_a_triangle_tap_counter_that_is_not_a_number_is_an_error(counter):
    """The tap counter Xi is a signal; nengo's int(Xi.item()) raises ValueError when it
    is NaN (and stays so), which the conversion to int64 here did not."""
    # u, y, Y (state), X (two taps), Xi
    eng, local = _engine_with([0.5, 0.0, 0.0, 0.0, 0.0, counter])
    u, y, ystate, xi = (_vector(eng, local, i) for i in (0, 1, 2, 5))
    x = eng.add_view(local, 24, F64, [2, 1], [1, 1])
    eng.add_triangle(local, 0, u, y, ystate, x, xi, SET, 0.5, 0.25)
    eng.finalize()
    with pytest.raises(ValueError, match="Triangle: the tap counter is"):
        eng.run(1)


def test_a_triangle_tap_counter_far_beyond_int64_wraps_as_numpy_does():
    """(Xi + 1) % taps is exact for any finite counter."""
    eng, local = _engine_with([0.5, 0.0, 0.0, 0.0, 0.0, 1e300])
    u, y, ystate, xi = (_vector(eng, local, i) for i in (0, 1, 2, 5))
    x = eng.add_view(local, 24, F64, [2, 1], [1, 1])
    eng.add_triangle(local, 0, u, y, ystate, x, xi, SET, 0.5, 0.25)
    eng.finalize()
    eng.run(1)
    values = eng.buffer(local).view(np.float64)
    assert values[5] == np.float64(1e300 + 1) % 2


# --- Channels ----------------------------------------------------------------------------


@pytest.mark.parametrize("peer", [1, -1])
def test_a_channel_to_a_rank_outside_one_process_is_refused(peer):
    eng, local = _engine_with()
    view = _vector(eng, local, 0)
    for add in (eng.add_send, eng.add_recv):
        with pytest.raises(IndexError, match=f"names rank {peer} of a job of 1 ranks"):
            add(3, local, view, peer, 0)
