"""Run a function on rank 0 while the other ranks serve its simulators.

For programs where every rank runs the same code (pytest-mpi tests, or a user's own
SPMD script) rather than ``python -m nengo_mpi``.
"""

import traceback

from . import protocol, runtime, session as mpi_session


def on_root(fn, *args, **kwargs):
    """Call ``fn`` on rank 0 with every rank serving; every rank gets its result.

    Exceptions in ``fn`` are re-raised on every rank (as RuntimeError with the original
    traceback text), so all ranks of a test fail together instead of some hanging.
    """
    s = mpi_session.start()
    outcome = None
    if s.rank == 0:
        s.serving = True
        try:
            outcome = ("ok", fn(*args, **kwargs))
        except Exception as e:  # pylint: disable=broad-except
            outcome = ("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            s.serving = False
        runtime.close_all()
        protocol.send_command(s.comm, (protocol.EXIT, 0))
    else:
        protocol.serve(s)
    status, value = s.comm.bcast(outcome, root=0)
    if status == "error":
        raise RuntimeError(f"rank 0 failed: {value}")
    return value
