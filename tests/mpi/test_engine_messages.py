"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

The engine's messages at their limits:

- one MPI message holds at most 2**31 - 1 bytes (MPI counts are ints): a message between
  a pair of ranks larger than that is refused when the engines open their channels,
  before the first step, on both ranks, with an error saying what to do;
- an engine destroyed while one of its sends is still in flight (its peer has not
  received it yet) leaves the send's buffer to MPI, which reads it when the peer
  receives.
"""

import numpy as np
import pytest

from nengo_mpi import _engine
from nengo_mpi.lower.layout import F64


def _open_channel(n_values, comm):
    """Rank 0 sends rank 1 ``n_values`` float64 values of a one-value buffer (a view
    that repeats its one value, so no large buffer is needed): the channel's message
    holds ``8 * n_values`` bytes. Returns the engine's error on this rank, or None."""
    engine = _engine.Engine(0.001, comm.py2f())
    local = engine.add_component(comm.Get_rank(), np.zeros(8, dtype=np.uint8))
    view = engine.add_view(local, 0, F64, [n_values], [0])
    if comm.Get_rank() == 0:
        engine.add_send(7, local, view, 1, 0, False, 0)
    else:
        engine.add_recv(7, local, view, 0, 0, False, 0)
    try:
        engine.finalize()
    except Exception as e:  # pylint: disable=broad-except
        return e
    return None


@pytest.mark.mpi(min_size=2)
def test_a_message_over_two_gibibytes_is_refused_before_the_run():
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    world = MPI.COMM_WORLD
    comm = world.Split(0 if world.Get_rank() < 2 else MPI.UNDEFINED, world.Get_rank())
    if comm == MPI.COMM_NULL:
        return  # ranks beyond the pair take no part
    try:
        fits = _open_channel(2**17, comm)  # 1 MiB (a staging buffer is allocated)
        error = _open_channel(2**28, comm)  # 2 GiB: one byte more than MPI's count
    finally:
        comm.Free()
    assert fits is None
    assert isinstance(error, ValueError), error
    direction = "to rank 1" if world.Get_rank() == 0 else "from rank 0"
    assert f"a message of {2**31} bytes {direction} (tag 7)" in str(error)
    assert "split the model into more components" in str(error)


@pytest.mark.mpi(min_size=2)
def test_a_send_in_flight_when_its_engine_is_destroyed_still_delivers():
    """Rank 0's engine sends 4 MiB (too much for MPI to buffer eagerly: the send waits
    for the receiver) and is destroyed before rank 1 receives. Rank 1 then receives the
    values rank 0 sent, not freed memory."""
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    world = MPI.COMM_WORLD
    comm = world.Split(0 if world.Get_rank() < 2 else MPI.UNDEFINED, world.Get_rank())
    if comm == MPI.COMM_NULL:
        return
    n = 2**19
    values = np.arange(n, dtype=np.float64)
    try:
        if comm.Get_rank() == 0:
            engine = _engine.Engine(0.001, comm.py2f())
            local = engine.add_component(0, values.view(np.uint8))
            view = engine.add_view(local, 0, F64, [n], [1])
            engine.add_send(9, local, view, 1, 0, False, 0)
            engine.finalize()
            engine.run(1)  # sends the channel's value at the end of the step
            del engine
            comm.Barrier()
            comm.Barrier()  # rank 1 receives meanwhile (MPI progresses the send here)
            received = None
        else:
            comm.Barrier()
            received = np.empty(n, dtype=np.float64)
            comm.Recv(received, source=0, tag=9)
            comm.Barrier()
    finally:
        comm.Free()
    if received is not None:
        np.testing.assert_array_equal(received, values)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("peer", ["size", -1])
def test_a_channel_to_a_rank_outside_the_job_is_refused(peer):
    """A channel end names its peer rank; one outside the communicator is refused when
    it is added. (It used to be accepted, and the per-rank traffic tables that timing()
    returns were then written outside their memory.)"""
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    comm = MPI.COMM_WORLD
    peer = comm.Get_size() if peer == "size" else peer
    engine = _engine.Engine(0.001, comm.py2f())
    local = engine.add_component(comm.Get_rank(), np.zeros(8, dtype=np.uint8))
    view = engine.add_view(local, 0, F64, [1], [1])
    match = f"channel 7 names rank {peer} of a job of {comm.Get_size()} ranks"
    for add in (engine.add_send, engine.add_recv):
        with pytest.raises(IndexError, match=match):
            add(7, local, view, peer, 0)
            engine.finalize()
            engine.timing()


@pytest.mark.mpi(min_size=2)
def test_a_message_whose_size_wraps_around_is_refused():
    """Three channels of 2**63 - 8, 2**63 - 8 and 24 bytes (views that repeat one value)
    between one pair of ranks travel as one message of 2**64 + 8 bytes. Its size must
    not wrap around to 8 bytes, a staging buffer the parts were then packed far beyond:
    both ranks refuse the message when they open their channels."""
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    world = MPI.COMM_WORLD
    comm = world.Split(0 if world.Get_rank() < 2 else MPI.UNDEFINED, world.Get_rank())
    if comm == MPI.COMM_NULL:
        return
    try:
        engine = _engine.Engine(0.001, comm.py2f())
        local = engine.add_component(comm.Get_rank(), np.zeros(8, dtype=np.uint8))
        huge = engine.add_view(local, 0, F64, [2**60 - 1], [0])
        small = engine.add_view(local, 0, F64, [3], [0])
        for tag, view in [(7, huge), (8, huge), (9, small)]:
            if comm.Get_rank() == 0:
                engine.add_send(tag, local, view, 1, 0)
            else:
                engine.add_recv(tag, local, view, 0, 1)
        with pytest.raises(ValueError, match="hold more bytes than 64 bits count"):
            engine.finalize()
            engine.run(1)
    finally:
        comm.Free()
