"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

One MPI message holds at most 2**31 - 1 bytes (MPI counts are ints). A message between
a pair of ranks larger than that is refused when the engines open their channels, before
the first step, on both ranks, with an error saying what to do.
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
