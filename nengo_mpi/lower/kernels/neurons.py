"""Native records for neuron types (nengo's SimNeurons)."""

import nengo
from nengo.builder.neurons import SimNeurons

from ..layout import same_real_dtype


def lower_sim_neurons(op, layout, dt):
    neurons = op.neurons
    state = op.state
    if op.state_extra or not same_real_dtype(op.J, op.output, *state.values()):
        return None
    views = [layout.vector_view(s) for s in [op.J, op.output] + list(state.values())]
    if any(v is None for v in views):
        return None
    j, out = views[0], views[1]
    named = dict(zip(state.keys(), views[2:]))
    # Exact types only: a subclass may override step() and must keep its own behaviour.
    kind = type(neurons)
    if kind is nengo.LIF and set(named) == {"voltage", "refractory_time"}:
        return "add_lif", (
            j,
            out,
            named["voltage"],
            named["refractory_time"],
            float(neurons.tau_rc),
            float(neurons.tau_ref),
            float(neurons.min_voltage),
            float(neurons.amplitude),
        )
    if kind is nengo.LIFRate and not named:
        return "add_lif_rate", (
            j,
            out,
            float(neurons.tau_rc),
            float(neurons.tau_ref),
            float(neurons.amplitude),
        )
    if kind is nengo.RectifiedLinear and not named:
        return "add_rectified_linear", (j, out, float(neurons.amplitude))
    if kind is nengo.SpikingRectifiedLinear and set(named) == {"voltage"}:
        return "add_spiking_rectified_linear", (
            j,
            out,
            named["voltage"],
            float(neurons.amplitude),
        )
    return None


TRANSLATORS = {SimNeurons: lower_sim_neurons}
