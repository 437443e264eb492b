"""nengo's operators, as the engine computes them (``cpp/ops/``), one entry per type.

Each entry names the translator (`nengo_mpi.lower.translators`) and the engine methods
it may call, with their arguments after ``local`` and ``order`` as the bindings
(``cpp/bindings/register_*_ops.cpp``) name them. SimNeurons' methods are the neuron
kernels' (``neurons.py``).
"""

from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimRLS, SimVoja
from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import (
    BsrDotInc, Copy, DotInc, ElementwiseInc, Reset, SparseDotInc, TimeUpdate,
)
from nengo.builder.processes import SimProcess
from nengo.builder.transforms import ConvInc, ConvTransposeInc

from ..lower.translators import basic, learning, neurons, processes, transforms
from .registry import OperatorKernel, neuron_kernel, register_operator

_LINEAR = ("x", "form", "A", "B", "C", "D")
_TRIANGLE = ("ystate", "x", "xi", "n0", "ndiff")
_NOISE = ("y", "mode", "dist", "p0", "p1", "scale", "alpha")
_CONV = ("w", "x", "y", "in_shape", "out_shape", "kernel", "strides", "pad")


def _neurons_draw_random(op):
    kernel = neuron_kernel(type(op.neurons))
    return kernel is None or not kernel.deterministic


for _kernel in (
    OperatorKernel(TimeUpdate, basic.lower_time_update,
                   {"add_time_update": ("step", "time")}),
    OperatorKernel(Reset, basic.lower_reset, {"add_reset": ("dst", "value")}),
    OperatorKernel(Copy, basic.lower_copy,
                   {"add_copy": ("src", "dst", "src_index", "dst_index", "inc")}),
    OperatorKernel(ElementwiseInc, basic.lower_elementwise_inc,
                   {"add_elementwise_inc": ("a", "x", "y")}),
    # A DotInc with a scalar factor is an elementwise product.
    OperatorKernel(DotInc, basic.lower_dot_inc, {"add_dot_inc": ("a", "x", "y"),
                                                 "add_elementwise_inc": ("a", "x", "y")}),
    OperatorKernel(SparseDotInc, basic.lower_sparse_dot_inc,
                   {"add_sparse_dot_inc": ("data", "x", "y", "indptr", "indices")}),
    OperatorKernel(BsrDotInc, basic.lower_bsr_dot_inc, {"add_bsr_dot_inc": (
        "data", "x", "y", "block_rows", "block_cols", "indptr", "indices")}),
    OperatorKernel(SimNeurons, neurons.lower_sim_neurons, None,
                   draws_random=_neurons_draw_random),
    OperatorKernel(SimProcess, processes.lower_sim_process, {
        "add_linear_filter": ("u", "y", "x", "form", "mode", "A", "B", "C", "D"),
        "add_triangle": ("u", "y", "ystate", "x", "xi", "mode", "n0", "ndiff"),
        "add_white_noise": _NOISE,
        "add_filtered_noise_linear": _NOISE + _LINEAR,
        "add_filtered_noise_triangle": _NOISE + _TRIANGLE,
        "add_time_table": ("y", "t", "mode", "rule", "dt", "param", "keys", "table"),
    }, draws_random=processes.draws_random),
    OperatorKernel(SimPES, learning.lower_sim_pes,
                   {"add_sim_pes": ("pre", "error", "delta", "alpha")}),
    OperatorKernel(SimBCM, learning.lower_sim_bcm,
                   {"add_sim_bcm": ("pre", "post", "theta", "delta", "alpha")}),
    OperatorKernel(SimOja, learning.lower_sim_oja,
                   {"add_sim_oja": ("pre", "post", "weights", "delta", "alpha", "beta")}),
    OperatorKernel(SimVoja, learning.lower_sim_voja, {"add_sim_voja": (
        "pre", "post", "encoders", "learning", "delta", "alpha", "scale")}),
    OperatorKernel(SimRLS, learning.lower_sim_rls,
                   {"add_sim_rls": ("pre", "error", "delta", "p")}),
    OperatorKernel(ConvInc, transforms.lower_conv_inc,
                   {"add_conv_inc": _CONV + ("groups", "channels_last")}),
    OperatorKernel(ConvTransposeInc, transforms.lower_conv_transpose_inc,
                   {"add_conv_transpose_inc": _CONV + ("extent", "channels_last")}),
):
    register_operator(_kernel)
