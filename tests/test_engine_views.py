"""The engine's views, buffers and step counters take sizes from model files, checkpoints
and Python callers as they are: numbers that overflow the engine's 64-bit arithmetic are
refused with an error that names them, before anything reads or writes memory through
them (``make sanitize`` runs these under AddressSanitizer and UndefinedBehaviorSanitizer,
where the overflows themselves are reports).
"""

import numpy as np
import pytest

from nengo_mpi import _engine
from nengo_mpi.lower.layout import DTYPE_CODES

F64 = DTYPE_CODES[np.dtype(np.float64)]
I64 = DTYPE_CODES[np.dtype(np.int64)]
I32 = DTYPE_CODES[np.dtype(np.int32)]
NBYTES = 64  # one cache line: the engine allocates exactly this, with no padding


def _component(nbytes=NBYTES):
    eng = _engine.Engine(0.001)
    return eng, eng.add_component(0, np.zeros(nbytes, dtype=np.uint8))


@pytest.mark.parametrize(
    "shape, strides",
    [
        # (2**61) * 8 elements is 2**64, which wraps around to an extent of 0.
        pytest.param((2**61 + 1,), (8,), id="extent-wraps-to-zero"),
        # An extent that fits, whose size in bytes (times 8) does not.
        pytest.param((2**60 + 1,), (1,), id="bytes-overflow"),
        pytest.param((2**62,), (8,), id="extent-overflows"),
        # -2**63 fits; -2**63 * 8 bytes wraps around to 0.
        pytest.param((3,), (-(2**62),), id="negative-extent-wraps"),
        # Two axes whose extents fit alone but not summed.
        pytest.param((2, 2), (2**62, 2**62), id="sum-overflows"),
    ],
)
def test_an_extent_that_overflows_is_refused(shape, strides):
    """Extents are computed without overflow, so no wrapped-around number can make a
    view far outside the buffer look like one inside it."""
    eng, local = _component()
    with pytest.raises(IndexError, match="overflows 64 bits"):
        eng.add_view(local, 0, F64, shape, strides)


@pytest.mark.parametrize(
    "offset, shape, strides",
    [
        # offset + 16 bytes wraps around to a negative end, which passed as "in bounds".
        pytest.param(2**63 - 8, (2,), (1,), id="end-wraps"),
        pytest.param(2**64 - 8, (1,), (1,), id="offset-wraps-negative"),
        pytest.param(NBYTES + 8, (0,), (1,), id="empty-view-beyond-the-end"),
        pytest.param(2**40, (), (), id="scalar"),
    ],
)
def test_an_offset_beyond_the_buffer_is_refused(offset, shape, strides):
    """The byte offset (unsigned) is checked against the buffer before any arithmetic,
    for empty views too: kernels take their address."""
    eng, local = _component()
    with pytest.raises(IndexError, match=f"outside a buffer of {NBYTES} bytes"):
        eng.add_view(local, offset, F64, shape, strides)


@pytest.mark.parametrize("code", [-1, max(DTYPE_CODES.values()) + 1])
def test_an_unknown_dtype_code_is_refused(code):
    eng, local = _component()
    with pytest.raises(ValueError, match=f"unknown dtype code {code}"):
        eng.add_view(local, 0, code, (1,), (1,))


@pytest.mark.parametrize(
    "shape, strides",
    [
        pytest.param((2**32, 2**32), (0, 0), id="count-overflows"),
        pytest.param((2**61,), (0,), id="bytes-overflow"),
    ],
)
def test_a_repeating_view_too_large_to_count_is_refused(shape, strides):
    """A view with stride 0 repeats one element, so any length is in bounds; but its
    element count and byte size (which probes and messages allocate) must fit 64 bits."""
    eng, local = _component()
    with pytest.raises(IndexError, match="overflows 64 bits"):
        eng.add_view(local, 0, F64, shape, strides)


@pytest.mark.parametrize(
    "offset, shape, strides",
    [
        pytest.param(0, (8,), (1,), id="whole-buffer"),
        pytest.param(56, (8,), (-1,), id="reversed"),
        pytest.param(0, (2, 4), (4, 1), id="matrix"),
        pytest.param(24, (2, 2), (-3, 4), id="mixed-signs"),
        pytest.param(NBYTES, (0,), (1,), id="empty-at-the-end"),
        pytest.param(NBYTES, (0, 2**62), (1, 1), id="empty-with-a-huge-axis"),
        pytest.param(8, (2**28,), (0,), id="repeating"),
        pytest.param(0, (2**59,), (0,), id="repeating-2**62-bytes"),
        pytest.param(56, (), (), id="scalar"),
    ],
)
def test_views_at_the_limits_are_accepted(offset, shape, strides):
    """The checks refuse nothing that lies in the buffer."""
    eng, local = _component()
    assert eng.add_view(local, offset, F64, shape, strides) == 0


@pytest.mark.parametrize(
    "offset, shape, strides",
    [
        pytest.param(8, (8,), (1,), id="one-past-the-end"),
        pytest.param(48, (8,), (-1,), id="one-before-the-start"),
        pytest.param(24, (2, 2), (-4, 4), id="mixed-signs"),
    ],
)
def test_views_just_outside_are_refused(offset, shape, strides):
    eng, local = _component()
    with pytest.raises(IndexError, match="outside a buffer of 64 bytes"):
        eng.add_view(local, offset, F64, shape, strides)


@pytest.mark.parametrize("nbytes", [2**64 - 1, 2**64 - 63, 2**63])
def test_a_buffer_larger_than_the_engine_addresses_is_refused(nbytes):
    """A size near 2**64 used to wrap around to a one-cache-line allocation, against
    whose claimed size of 2**64 bytes every view then looked in bounds."""
    eng = _engine.Engine(0.001)
    with pytest.raises(ValueError, match="larger than the engine can address"):
        eng.add_zeroed_component(0, nbytes)
    assert eng.n_components == 0


def test_time_update_needs_one_element_each():
    """TimeUpdate writes through pointers: an empty view, which may point just past the
    end of the buffer, is refused."""
    eng, local = _component()
    step = eng.add_view(local, NBYTES, I64, (0,), (1,))
    time = eng.add_view(local, 8, F64, (), ())
    with pytest.raises(ValueError, match="step has 0 elements, expected 1"):
        eng.add_time_update(local, 0, step, time)
    step = eng.add_view(local, 0, I64, (), ())
    time = eng.add_view(local, NBYTES, F64, (0,), (1,))
    with pytest.raises(ValueError, match="time has 0 elements, expected 1"):
        eng.add_time_update(local, 0, step, time)


@pytest.mark.parametrize("dtype, code", [(np.int64, I64), (np.int32, I32)])
def test_the_step_signal_wraps_around_as_numpy_does(dtype, code):
    """nengo's ``step += 1`` on a numpy integer wraps around at the largest value; the
    engine does the same without a signed overflow (a checkpoint can hold any step)."""
    eng, local = _component()
    step = eng.add_view(local, 0, code, (), ())
    time = eng.add_view(local, 8, F64, (), ())
    eng.add_time_update(local, 0, step, time)
    eng.finalize()
    buf = eng.buffer(local)
    largest = np.iinfo(dtype).max
    buf[: np.dtype(dtype).itemsize].view(dtype)[0] = largest
    eng.run(1)
    expected = np.array([largest], dtype=dtype)
    expected += 1  # what nengo's step function does
    assert expected[0] == np.iinfo(dtype).min
    assert buf[: np.dtype(dtype).itemsize].view(dtype)[0] == expected[0]
    assert buf[8:16].view(np.float64)[0] == float(np.iinfo(dtype).min) * 0.001


def test_running_past_the_largest_step_number_is_refused():
    """The engine's step count comes from checkpoints too (set_steps)."""
    eng, local = _component()
    eng.add_probe(local, eng.add_view(local, 0, F64, (1,), (1,)), 1.0)
    eng.finalize()
    eng.set_steps(2**63 - 2)
    eng.run(1)
    with pytest.raises(OverflowError, match="overflows the step counter"):
        eng.run(1)
    assert eng.steps == 2**63 - 1


def test_a_probe_with_a_tiny_period_records_once_per_step():
    """A period of 1e-300 samples every step; the room reserved for its samples is
    capped at one per step (steps / period does not fit any integer type)."""
    eng, local = _component()
    eng.buffer(local)[:8].view(np.float64)[0] = 2.5
    probe = eng.add_probe(local, eng.add_view(local, 0, F64, (1,), (1,)), 1e-300)
    eng.finalize()
    eng.run(3)
    assert eng.probe_samples(probe) == 3
    np.testing.assert_array_equal(np.frombuffer(eng.take_probe(probe)), [2.5] * 3)
