"""The native kernel registry (nengo_mpi.kernels): entries, their checks against the
engine's bindings, and kernels registered by another package through an entry point."""

import json
import os
import shutil
import subprocess
import sys

import nengo
import pytest
from nengo.builder.neurons import SimNeurons

from nengo_mpi import _engine
from nengo_mpi.kernels import (
    KernelRegistryError, NeuronKernel, OperatorKernel, check_bindings,
    deterministic_neuron_types, neuron_kernel, neuron_kernels, operator_kernel,
    operator_kernels, register, register_operator, unregister,
)
from nengo_mpi.kernels.registry import binding_arguments
from nengo_mpi.lower.fence import mergeable_kind
from nengo_mpi.lower.translators import native_record

#: Engine methods that build components, channels and probes, not operators.
STRUCTURE_METHODS = {"add_component", "add_zeroed_component", "add_view",
                     "add_python_op", "add_local_channel", "add_send", "add_recv",
                     "add_probe"}

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(HERE, "kernel_plugin")


class _MyRate(nengo.RectifiedLinear):
    """A subclass with no kernel of its own."""


class _MyLIFRate(nengo.LIFRate):
    """A subclass with no kernel of its own."""


class _MyOp(nengo.builder.operator.DotInc):
    """An operator subclass with no kernel of its own."""


def test_every_nengo_neuron_type_with_a_kernel_matches_its_binding():
    """Each entry's arguments are the names its Engine method declares, in order."""
    kernels = neuron_kernels()
    assert {k.neuron_type for k in kernels} >= {
        nengo.LIF, nengo.LIFRate, nengo.AdaptiveLIF, nengo.AdaptiveLIFRate,
        nengo.RectifiedLinear, nengo.SpikingRectifiedLinear, nengo.Izhikevich,
        nengo.Sigmoid, nengo.Tanh, nengo.RegularSpiking, nengo.StochasticSpiking,
        nengo.PoissonSpiking}
    check_bindings(_engine.Engine)
    lif = neuron_kernel(nengo.LIF)
    assert binding_arguments(_engine.Engine.add_lif) == lif.arguments == (
        "local", "order", "J", "output", "voltage", "refractory_time", "tau_rc",
        "tau_ref", "min_voltage", "amplitude")


def test_every_engine_kernel_has_one_entry():
    """Each add_<kernel> method of the engine is declared by a registry entry (and
    named as its binding names it): none is reached without the registry."""
    # The guide's example kernel is declared by the guide's test, with its type.
    # pylint: disable-next=import-outside-toplevel,unused-import
    import test_adding_a_kernel  # noqa: F401

    engine_methods = {m for m in dir(_engine.Engine) if m.startswith("add_")}
    declared = {k.method for k in neuron_kernels()}
    for kernel in operator_kernels():
        declared |= set(kernel.methods or ())
    assert engine_methods - STRUCTURE_METHODS == declared
    assert {k.op_type for k in operator_kernels()} >= {
        SimNeurons, nengo.builder.processes.SimProcess, nengo.builder.operator.DotInc,
        nengo.builder.learning_rules.SimPES, nengo.builder.transforms.ConvInc}


def test_a_translated_call_the_entry_does_not_declare_is_a_bug_that_surfaces():
    """A translator returning a method or argument count its entry does not declare
    raises, naming the operator, instead of reaching the engine as a wrong call."""
    kernel = operator_kernel(nengo.builder.operator.Reset)
    op = nengo.builder.operator.Reset(nengo.builder.Signal(shape=3), value=1.0)
    short = OperatorKernel(nengo.builder.operator.Reset,
                           lambda op, layout, dt: ("add_reset", (0,)),
                           kernel.methods)
    other = OperatorKernel(nengo.builder.operator.Reset,
                           lambda op, layout, dt: ("add_copy", (0, 1, [], [], False)),
                           kernel.methods)
    try:
        register_operator(short, replace=True)
        with pytest.raises(KernelRegistryError, match=r"translator of Reset returned "
                           r"add_reset with 1 arguments \(\['dst', 'value'\]\)"):
            native_record(op, None, 0.001)
        register_operator(other, replace=True)
        with pytest.raises(KernelRegistryError, match="add_copy with 5 arguments "
                           r"\(not one of its methods\)"):
            native_record(op, None, 0.001)
    finally:
        register_operator(kernel, replace=True)
    assert operator_kernel(nengo.builder.operator.Reset) is kernel


def test_an_operator_entry_that_disagrees_with_its_binding_is_refused():
    swapped = OperatorKernel(_MyOp, lambda op, layout, dt: None,
                             {"add_dot_inc": ("x", "a", "y")})
    with pytest.raises(KernelRegistryError, match=r"_MyOp: add_dot_inc takes "
                       r"\['local', 'order', 'a', 'x', 'y'\], its entry says"):
        register_operator(swapped)
    assert operator_kernel(_MyOp) is None


def test_an_entry_that_disagrees_with_its_binding_is_refused():
    """Parameters in another order than the binding's (which would pass tau_ref as
    tau_rc in silence) are refused, naming the type and both argument lists."""
    swapped = NeuronKernel(_MyLIFRate, "add_lif_rate", (),
                           ("tau_ref", "tau_rc", "amplitude"))
    with pytest.raises(KernelRegistryError, match=r"_MyLIFRate: add_lif_rate takes \["):
        register(swapped)
    assert neuron_kernel(_MyLIFRate) is None
    missing = NeuronKernel(_MyRate, "add_no_such_kernel", (), ("amplitude",))
    with pytest.raises(KernelRegistryError, match="the engine has no add_no_such_kernel"):
        register(missing)
    assert neuron_kernel(_MyRate) is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(neuron_type=int, method="add_lif"), "must be a nengo NeuronType class"),
    (dict(neuron_type=nengo.LIF, method="lif"), "must name an Engine method"),
    (dict(neuron_type=nengo.LIF, method="add_lif", state=("voltage",)),
     r"must list each of the type's state signals once \(\['refractory_time', 'voltage'\]"),
    (dict(neuron_type=nengo.LIFRate, method="add_lif_rate", params=("tau_x",)),
     r"the type has no parameters \['tau_x'\]"),
    (dict(neuron_type=nengo.LIFRate, method="add_lif_rate", dtypes=("float16",)),
     "dtypes must be among"),
    (dict(neuron_type=nengo.LIFRate, method="add_lif_rate", draws_from_rng=True),
     "is not deterministic"),
])
def test_bad_entries_say_what_is_wrong(kwargs, message):
    with pytest.raises(KernelRegistryError, match=message):
        NeuronKernel(**kwargs)


def test_register_replace_and_unregister():
    """A type has one kernel: a second is refused unless replace=True; an entry drives
    the merge rule."""
    entry = NeuronKernel(_MyRate, "add_rectified_linear", (), ("amplitude",))
    try:
        register(entry)
        assert neuron_kernel(_MyRate) is entry
        assert _MyRate in deterministic_neuron_types()
        op = SimNeurons(_MyRate(), nengo.builder.Signal(shape=3),
                        nengo.builder.Signal(shape=3))
        assert mergeable_kind(op)
        other = NeuronKernel(_MyRate, "add_rectified_linear", (), ("amplitude",),
                             deterministic=False)
        with pytest.raises(KernelRegistryError, match="already has a kernel"):
            register(other)
        register(other, replace=True)
        assert not mergeable_kind(op)
    finally:
        unregister(_MyRate)
    assert neuron_kernel(_MyRate) is None


def _run_plugin_script(pythonpath):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "scripts", "use_kernel_plugin.py")], env=env,
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_package_registers_a_kernel_through_its_entry_point():
    """tests/kernel_plugin is an installed distribution once on sys.path: its entry
    point registers TracedLIF's kernel, which then runs natively and matches nengo."""
    found = _run_plugin_script(PLUGIN)
    assert "LIF" in found["kinds"], found
    assert found["fallback_warnings"] == []
    assert found["max_diff"] < 1e-12, found


def test_without_the_entry_point_the_type_falls_back(tmp_path):
    """The same package without its distribution metadata (so no entry point): the
    subclass runs through Python, as any type without a kernel does."""
    shutil.copytree(os.path.join(PLUGIN, "example_kernels"), tmp_path / "example_kernels")
    found = _run_plugin_script(str(tmp_path))
    assert "LIF" not in found["kinds"], found
    assert any("TracedLIF" in w for w in found["fallback_warnings"]), found


def test_a_failing_plugin_is_named(tmp_path):
    """A plugin whose entry point raises stops with an error that names it."""
    dist = tmp_path / "broken_kernels-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken_kernels\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[nengo_mpi.kernels]\nbroken = broken_kernels:register_kernels\n")
    (tmp_path / "broken_kernels.py").write_text(
        "def register_kernels():\n    raise RuntimeError('no kernels today')\n")
    code = "import nengo_mpi.kernels as k; k.neuron_kernels()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(tmp_path)), timeout=120,
                          check=False)
    assert proc.returncode != 0
    assert ("kernel plugin 'broken' (broken_kernels:register_kernels) failed to load: "
            "RuntimeError: no kernels today") in proc.stderr
