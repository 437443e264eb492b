"""The registry of native kernels: what the C++ engine computes, declared once.

A kernel is one ``Engine.add_<name>`` method of the engine module (``nengo_mpi._engine``)
and the nengo class whose work it does. Its registry entry is the one statement of the
contract between Python and C++: a `NeuronKernel` per neuron type (``neurons.py``), an
`OperatorKernel` per other nengo operator type (``operators.py``). Everything else
reads them:

- the translators (`nengo_mpi.lower.translators`) turn a nengo operator into the engine
  call the entry describes, arguments in the entry's order (each call is checked
  against its entry);
- the merge rule (`nengo_mpi.lower.fence.mergeable_kind`), halo builds and tiles ask
  it whether a kernel is deterministic;
- the kernel tests (``tests/test_kernels_neurons.py``) step every entry against nengo's
  own ``step``;
- `check_bindings` compares each entry with the binding's named arguments when the
  engine module is first used, so a binding and its entry cannot drift apart.

Other packages add kernels through the ``nengo_mpi.kernels`` entry point group: each
entry point names a module (or a callable) that calls `register`. Their engine methods
must exist on the Engine class by then (a package's own pybind11 module may add them),
or the registry refuses the entry when it checks the bindings. ``tests/kernel_plugin``
is such a package, and docs/adding_a_kernel.md walks through a new neuron type.
"""

from .registry import (
    ENTRY_POINT_GROUP, KernelRegistryError, NeuronKernel, OperatorKernel, check_bindings,
    deterministic_neuron_types, load_plugins, neuron_kernel, neuron_kernels,
    operator_kernel, operator_kernels, register, register_operator, unregister,
)

__all__ = [
    "ENTRY_POINT_GROUP", "KernelRegistryError", "NeuronKernel", "OperatorKernel",
    "check_bindings", "deterministic_neuron_types", "load_plugins", "neuron_kernel",
    "neuron_kernels", "operator_kernel", "operator_kernels", "register",
    "register_operator", "unregister",
]
