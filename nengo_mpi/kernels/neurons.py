"""nengo's own neuron types, as the engine computes them (``cpp/ops/neurons.hpp``).

nengo builds a rates-to-spikes type (RegularSpiking, StochasticSpiking, PoissonSpiking)
as two SimNeurons ops: one for its ``base_type`` (currents to rates, with the base
type's own state) and one for the spiking type itself, whose input ``J`` is those
rates. The second op depends on the base type only through ``negative`` (which the
spiking type copies from it), so its kernel runs whatever the base type is; the base op
is native if its own type is.
"""

import nengo

from .registry import NeuronKernel, register

_LIF = ("tau_rc", "tau_ref", "min_voltage", "amplitude")
_LIF_RATE = ("tau_rc", "tau_ref", "amplitude")
_ADAPTATION = ("tau_n", "inc_n")

for _kernel in (
    NeuronKernel(nengo.LIF, "add_lif", ("voltage", "refractory_time"), _LIF),
    NeuronKernel(nengo.LIFRate, "add_lif_rate", (), _LIF_RATE),
    NeuronKernel(nengo.AdaptiveLIF, "add_adaptive_lif",
                 ("voltage", "refractory_time", "adaptation"), _LIF + _ADAPTATION),
    NeuronKernel(nengo.AdaptiveLIFRate, "add_adaptive_lif_rate", ("adaptation",),
                 _LIF_RATE + _ADAPTATION),
    NeuronKernel(nengo.RectifiedLinear, "add_rectified_linear", (), ("amplitude",)),
    NeuronKernel(nengo.SpikingRectifiedLinear, "add_spiking_rectified_linear",
                 ("voltage",), ("amplitude",)),
    NeuronKernel(nengo.Izhikevich, "add_izhikevich", ("voltage", "recovery"),
                 ("tau_recovery", "coupling", "reset_voltage", "reset_recovery")),
    NeuronKernel(nengo.Sigmoid, "add_sigmoid", (), ("tau_ref",)),
    NeuronKernel(nengo.Tanh, "add_tanh", (), ("tau_ref",)),
    # Its own op only (nengo builds its base type's as a second op, native or not).
    NeuronKernel(nengo.RegularSpiking, "add_regular_spiking", ("voltage",),
                 ("amplitude",)),
    NeuronKernel(nengo.StochasticSpiking, "add_stochastic_spiking", (),
                 ("amplitude", "negative"), deterministic=False, draws_from_rng=True),
    NeuronKernel(nengo.PoissonSpiking, "add_poisson_spiking", (),
                 ("amplitude", "negative"), deterministic=False, draws_from_rng=True),
):
    register(_kernel)
