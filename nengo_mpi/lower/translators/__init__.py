"""Translate nengo operators into native engine records.

``native_record(op, layout, dt)`` returns ``(engine_method, args)`` for an operator the
C++ engine implements, or None, in which case the operator runs through the Python
fallback (its own ``make_step`` on views of the engine's buffer). Returning None is
always correct, only slower: each translator declines anything it does not fully
understand rather than guessing.

One module per operator family. The kernel registry (`nengo_mpi.kernels`) says which
translator serves which exact operator type, and which engine calls it may return.
Subclasses are not matched: they may change ``make_step``, and the fallback runs
whatever they do.
"""

from ...kernels import operator_kernel


def native_record(op, layout, dt):
    """``(engine_method, args)`` for ``op``, or None to run it through Python.

    A call the registry does not declare for the op's type (another method, another
    number of arguments) raises `nengo_mpi.kernels.KernelRegistryError`: that is a bug
    in a translator, which must not reach the engine as a wrong call.
    """
    kernel = operator_kernel(type(op))
    if kernel is None:
        return None
    record = kernel.translate(op, layout, dt)
    if record is not None:
        kernel.check_record(op, record)
    return record
