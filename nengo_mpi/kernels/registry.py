"""Registry entries for native kernels, their lookup, plugins and the bindings check."""

import re
import threading
from dataclasses import dataclass
from importlib import import_module, metadata

from nengo.neurons import NeuronType

#: Entry point group through which other packages register kernels.
ENTRY_POINT_GROUP = "nengo_mpi.kernels"
#: The dtypes native kernels compute in (the engine instantiates each for these).
KERNEL_DTYPES = ("float64", "float32")
#: The engine call's arguments before a neuron kernel's own: the local component, the
#: op's place in the step order, then nengo's SimNeurons input and output views.
NEURON_LEADING_ARGUMENTS = ("local", "order", "J", "output")


class KernelRegistryError(Exception):
    """A kernel entry that cannot be registered or does not match its binding."""


@dataclass(frozen=True)
class NeuronKernel:
    """A native kernel for one nengo neuron type (its SimNeurons operator).

    The engine call is ``Engine.<method>(local, order, J, output, *state, *params)``:
    views of the input and output, then one view per state signal in ``state``'s
    order, then the neuron type's parameters in ``params``'s order. The binding names
    its arguments so (checked by `check_bindings`).

    Parameters
    ----------
    neuron_type : type
        The nengo neuron type (matched exactly: a subclass may change ``step``, so it
        runs through the Python fallback unless it has its own entry).
    method : str
        The Engine method that adds the kernel.
    state : tuple of str
        The type's state signals (``neuron_type.state``'s names), in argument order.
    params : tuple of str
        The type's parameters, read as attributes of the neuron type object, in
        argument order. A bool parameter is passed as a bool, any other as a float.
    deterministic : bool
        Whether ``step`` is deterministic and elementwise, so that one op over
        concatenated neurons computes exactly what the separate ops would: only such
        kernels merge, tile, and build as halos without a random stream.
    draws_from_rng : bool
        Whether the type draws from the RandomState nengo's builder gives its op
        (``op.state_extra["rng"]``); the kernel is then seeded with that generator's
        state once, as nengo keeps drawing from it across resets.
    dtypes : tuple of str
        The dtypes the kernel computes in; others run through the Python fallback.
    """

    neuron_type: type
    method: str
    state: tuple = ()
    params: tuple = ()
    deterministic: bool = True
    draws_from_rng: bool = False
    dtypes: tuple = KERNEL_DTYPES

    def __post_init__(self):
        # Tuples, whatever sequence was given (the entry is hashed and compared).
        for name in ("state", "params", "dtypes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._validate()

    def _validate(self):
        name = getattr(self.neuron_type, "__name__", self.neuron_type)
        who = f"NeuronKernel for {name!r}"
        if not (isinstance(self.neuron_type, type)
                and issubclass(self.neuron_type, NeuronType)):
            raise KernelRegistryError(
                f"{who}: neuron_type must be a nengo NeuronType class")
        if not isinstance(self.method, str) or not self.method.startswith("add_"):
            raise KernelRegistryError(
                f"{who}: method must name an Engine method add_<kernel> "
                f"(got {self.method!r})")
        declared = set(getattr(self.neuron_type, "state", {}))
        if set(self.state) != declared or len(self.state) != len(declared):
            raise KernelRegistryError(
                f"{who}: state {list(self.state)} must list each of the type's state "
                f"signals once ({sorted(declared)})")
        missing = [p for p in self.params if not hasattr(self.neuron_type, p)]
        if missing:
            raise KernelRegistryError(f"{who}: the type has no parameters {missing}")
        clash = set(self.params) & (set(self.state) | set(NEURON_LEADING_ARGUMENTS))
        if clash:
            raise KernelRegistryError(f"{who}: parameter names {sorted(clash)} are taken")
        unknown = [d for d in self.dtypes if d not in KERNEL_DTYPES]
        if unknown or not self.dtypes:
            raise KernelRegistryError(
                f"{who}: dtypes must be among {list(KERNEL_DTYPES)} "
                f"(got {list(self.dtypes)})")
        if self.draws_from_rng and self.deterministic:
            raise KernelRegistryError(f"{who}: a type that draws random numbers is not "
                                      "deterministic")

    @property
    def arguments(self):
        """The engine call's argument names, in order (``self`` not included)."""
        return NEURON_LEADING_ARGUMENTS + self.state + self.params

    def param_values(self, neurons):
        """The parameter arguments of the engine call for the neuron type object
        ``neurons``."""
        values = []
        for name in self.params:
            value = getattr(neurons, name)
            values.append(value if isinstance(value, bool) else float(value))
        return tuple(values)


@dataclass(frozen=True, eq=False)
class OperatorKernel:
    """The native kernels of one nengo operator type.

    ``translate(op, layout, dt)`` returns the engine call for ``op``: ``(method,
    args)``, or ``(method, args, reseed)`` for an op that draws random numbers (see
    `nengo_mpi.lower.translators.seeding`), or None to leave it to the Python fallback.
    The call is ``Engine.<method>(local, order, *args)``; ``methods`` names every
    method the translator may call and its arguments after ``local`` and ``order``,
    as the binding names them (checked by `check_bindings`, and each translated call
    against it by `check_record`).

    Parameters
    ----------
    op_type : type
        The nengo operator type (matched exactly: a subclass may change
        ``make_step``).
    translate : callable
        ``translate(op, layout, dt)``, see above.
    methods : dict or None
        Engine method -> its argument names after ``local`` and ``order``. None for
        SimNeurons, whose methods are the neuron kernels' (`NeuronKernel`).
    draws_random : bool or callable
        Whether an op of this type may draw random numbers as it steps (a callable
        decides per op): halo builds then keep its component's random streams whole.
    """

    op_type: type
    translate: object
    methods: object = None
    draws_random: object = False

    def __post_init__(self):
        who = f"OperatorKernel for {getattr(self.op_type, '__name__', self.op_type)!r}"
        if not isinstance(self.op_type, type) or not callable(self.translate):
            raise KernelRegistryError(f"{who}: needs an operator type and a translate "
                                      "function")
        if self.methods is not None:
            methods = {m: tuple(a) for m, a in dict(self.methods).items()}
            bad = [m for m in methods if not m.startswith("add_")]
            if bad or not methods:
                raise KernelRegistryError(f"{who}: methods must name Engine methods "
                                          f"add_<kernel> (got {sorted(methods)})")
            object.__setattr__(self, "methods", methods)

    def arguments(self, method):
        """The argument names of ``method`` after ``local`` and ``order``, or None if
        this kernel does not call it."""
        if self.methods is not None:
            return self.methods.get(method)
        for kernel in neuron_kernels():
            if kernel.method == method:
                return kernel.arguments[2:]
        return None

    def may_draw_random(self, op):
        """Whether ``op`` may draw random numbers as it steps."""
        if callable(self.draws_random):
            return bool(self.draws_random(op))
        return bool(self.draws_random)

    def check_record(self, op, record):
        """Raise `KernelRegistryError` if ``record`` (what ``translate`` returned for
        ``op``) is not a call this kernel declares, with its number of arguments."""
        method, args = record[0], record[1]
        names = self.arguments(method)
        if names is None or len(args) != len(names):
            expected = "not one of its methods" if names is None else list(names)
            raise KernelRegistryError(
                f"the translator of {type(op).__name__} returned {method} with "
                f"{len(args)} arguments ({expected}): a bug in nengo_mpi's translator")


_lock = threading.Lock()
_neurons = {}  # neuron type -> NeuronKernel
_operators = {}  # operator type -> OperatorKernel
_builtins_loaded = False
_plugins_loaded = False


def register(kernel, replace=False):
    """Add ``kernel`` (a `NeuronKernel`) to the registry, after checking it against its
    engine binding (`check_bindings`).

    Raises `KernelRegistryError` if the binding disagrees, or if its neuron type already
    has a kernel, unless ``replace``.
    """
    if not isinstance(kernel, NeuronKernel):
        raise KernelRegistryError(f"register takes a NeuronKernel (got {kernel!r})")
    # Imported here: the engine module is compiled, and this module is read before it
    # may be needed (nengo_mpi's import order).
    from .. import _engine  # pylint: disable=import-outside-toplevel

    check_bindings(_engine.Engine, [kernel], [])
    with _lock:
        old = _neurons.get(kernel.neuron_type)
        if old is not None and old != kernel and not replace:
            raise KernelRegistryError(
                f"{kernel.neuron_type.__name__} already has a kernel ({old.method}); "
                "pass replace=True to change it")
        _neurons[kernel.neuron_type] = kernel
    return kernel


def unregister(neuron_type):
    """Remove ``neuron_type``'s kernel (if any); returns it, or None."""
    with _lock:
        return _neurons.pop(neuron_type, None)


def register_operator(kernel, replace=False):
    """Add ``kernel`` (an `OperatorKernel`) to the registry, after checking its
    methods against their bindings. Raises `KernelRegistryError` as `register` does."""
    if not isinstance(kernel, OperatorKernel):
        raise KernelRegistryError(f"register_operator takes an OperatorKernel "
                                  f"(got {kernel!r})")
    from .. import _engine  # pylint: disable=import-outside-toplevel

    check_bindings(_engine.Engine, [], [kernel])
    with _lock:
        old = _operators.get(kernel.op_type)
        if old is not None and old is not kernel and not replace:
            raise KernelRegistryError(
                f"{kernel.op_type.__name__} already has a kernel; pass replace=True to "
                "change it")
        _operators[kernel.op_type] = kernel
    return kernel


def operator_kernel(op_type):
    """The `OperatorKernel` of exactly this operator type (a class), or None."""
    _ensure_loaded()
    return _operators.get(op_type)


def operator_kernels():
    """Every registered `OperatorKernel`, in registration order."""
    _ensure_loaded()
    return list(_operators.values())


def _ensure_loaded():
    global _builtins_loaded  # pylint: disable=global-statement
    if not _builtins_loaded:
        _builtins_loaded = True
        import_module(".neurons", __package__)  # registers nengo's own types
        import_module(".operators", __package__)  # and nengo's operators
    if not _plugins_loaded:
        load_plugins()


def load_plugins():
    """Run every ``nengo_mpi.kernels`` entry point once (each registers its kernels).

    An entry point names a module (importing it registers) or a callable (called with
    no arguments). A plugin that fails raises `KernelRegistryError` naming it.
    """
    global _plugins_loaded  # pylint: disable=global-statement
    _plugins_loaded = True
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            if callable(loaded):
                loaded()
        except KernelRegistryError:
            raise
        except Exception as e:  # pylint: disable=broad-except
            raise KernelRegistryError(
                f"kernel plugin {point.name!r} ({point.value}) failed to load: "
                f"{type(e).__name__}: {e}") from e


def neuron_kernel(neuron_type):
    """The `NeuronKernel` of exactly this neuron type (a class), or None."""
    _ensure_loaded()
    return _neurons.get(neuron_type)


def neuron_kernels():
    """Every registered `NeuronKernel`, in registration order."""
    _ensure_loaded()
    return list(_neurons.values())


def deterministic_neuron_types():
    """The neuron types whose kernels are deterministic and elementwise (they merge)."""
    return tuple(k.neuron_type for k in neuron_kernels() if k.deterministic)


_ARGUMENT = re.compile(r"[(,]\s*(\w+)\s*:")


def binding_arguments(function):
    """The argument names of a pybind11 function, read from its signature line."""
    doc = (getattr(function, "__doc__", None) or "").strip()
    first = doc.splitlines()[0] if doc else ""
    head = first.split(") ->")[0]
    return tuple(name for name in _ARGUMENT.findall(head) if name != "self")


def check_bindings(engine_class, kernels=None, operators=None):
    """Check that every kernel's Engine methods exist and name their arguments as the
    kernel's entry does (all registered kernels by default). Raises
    `KernelRegistryError` listing every mismatch."""
    expected = []  # (who, method, argument names)
    for kernel in neuron_kernels() if kernels is None else kernels:
        expected.append((kernel.neuron_type.__name__, kernel.method, kernel.arguments))
    for kernel in operator_kernels() if operators is None else operators:
        for method, names in (kernel.methods or {}).items():
            expected.append((kernel.op_type.__name__, method, ("local", "order") + names))
    problems = []
    for who, name, arguments in expected:
        method = getattr(engine_class, name, None)
        if method is None:
            problems.append(f"{who}: the engine has no {name}")
            continue
        found = binding_arguments(method)
        if found != arguments:
            problems.append(f"{who}: {name} takes {list(found)}, its entry says "
                            f"{list(arguments)}")
    if problems:
        raise KernelRegistryError("native kernels and their bindings disagree:\n  "
                                  + "\n  ".join(problems))
