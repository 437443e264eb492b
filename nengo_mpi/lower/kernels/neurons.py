"""Native records for neuron types (nengo's SimNeurons).

Translators match exact neuron types: a subclass may override ``step`` and must keep
its own behaviour (it runs through the Python fallback).

nengo builds a rates-to-spikes type (RegularSpiking, StochasticSpiking, PoissonSpiking)
as two SimNeurons ops: one for its ``base_type`` (currents to rates, with the base
type's own state) and one for the spiking type itself, whose input ``J`` is those rates.
The second op depends on the base type only through ``negative`` (which the spiking
type copies from it), so it runs natively whatever the base type is; the base op is
native if its own type is.
"""

import nengo
import numpy as np
from nengo.builder.neurons import SimNeurons

from ..layout import same_real_dtype


class NeuronTypeRng:
    """Seed a stochastic neuron type's kernel from the type's own RandomState.

    nengo's builder gives StochasticSpiking and PoissonSpiking a RandomState seeded from
    the ensemble's seed (``op.state_extra["rng"]``), and ``Simulator.reset`` does not
    re-create it: after a reset, nengo keeps drawing from where the stream was. We do the
    same: the kernel is seeded with the generator's state once, when its engine is set
    up, and later calls (on every reset) leave the kernel's generator where it is.

    The "already seeded" mark is not pickled, so a copy sent to another rank seeds the
    engine it is set up in.

    Parameters
    ----------
    state : tuple
        ``RandomState.get_state()`` of the neuron type's generator at lowering time.
    """

    def __init__(self, state):
        self.state = state
        self.seeded = False

    def __getstate__(self):
        return {"state": self.state}

    def __setstate__(self, state):
        self.state = state["state"]
        self.seeded = False

    def __call__(self, engine, handle, slot_rng):
        if not self.seeded:
            engine.set_rng_state(handle, self.state)
            self.seeded = True


def _rng_state(op):
    """The MT19937 state of the op's own RandomState, or None if it has no such one."""
    if set(op.state_extra) != {"rng"}:
        return None
    rng = op.state_extra["rng"]
    if type(rng) is not np.random.RandomState:
        return None
    # get_state(legacy=False) is a dict for any bit generator (and never warns); only
    # MT19937 is numpy's legacy stream, which NumpyRandom reproduces.
    if rng.get_state(legacy=False).get("bit_generator") != "MT19937":
        return None
    return rng.get_state()


def _lif(neurons):
    return (
        float(neurons.tau_rc),
        float(neurons.tau_ref),
        float(neurons.min_voltage),
        float(neurons.amplitude),
    )


def _lif_rate(neurons):
    return float(neurons.tau_rc), float(neurons.tau_ref), float(neurons.amplitude)


def _adaptation(neurons):
    return float(neurons.tau_n), float(neurons.inc_n)


def lower_sim_neurons(op, layout, dt):
    """The engine record for a SimNeurons op of a native neuron type, or None.

    Parameters
    ----------
    op : nengo.builder.neurons.SimNeurons
        The op.
    layout : nengo_mpi.lower.layout.ComponentLayout
        Where the op's signals are in its component's buffer.
    dt : float
        Time step (the engine passes its own to the kernels).

    Returns
    -------
    record : tuple or None
        ``(method, args)``, or ``(method, args, reseed)`` for the stochastic types;
        None for the Python fallback.
    """
    neurons = op.neurons
    state = op.state
    if not same_real_dtype(op.J, op.output, *state.values()):
        return None
    views = [layout.vector_view(s) for s in [op.J, op.output] + list(state.values())]
    if any(v is None for v in views):
        return None
    j, out = views[0], views[1]
    named = dict(zip(state.keys(), views[2:]))
    kind = type(neurons)

    if kind in (nengo.StochasticSpiking, nengo.PoissonSpiking):
        rng_state = _rng_state(op)
        if named or rng_state is None:
            return None
        method = (
            "add_stochastic_spiking"
            if kind is nengo.StochasticSpiking
            else "add_poisson_spiking"
        )
        args = (j, out, float(neurons.amplitude), bool(neurons.negative))
        return method, args, NeuronTypeRng(rng_state)

    if op.state_extra:
        return None
    if kind is nengo.LIF and set(named) == {"voltage", "refractory_time"}:
        views = (named["voltage"], named["refractory_time"])
        return "add_lif", (j, out) + views + _lif(neurons)
    if kind is nengo.LIFRate and not named:
        return "add_lif_rate", (j, out) + _lif_rate(neurons)
    if kind is nengo.AdaptiveLIF and set(named) == {
        "voltage",
        "refractory_time",
        "adaptation",
    }:
        views = (named["voltage"], named["refractory_time"], named["adaptation"])
        return "add_adaptive_lif", (j, out) + views + _lif(neurons) + _adaptation(neurons)
    if kind is nengo.AdaptiveLIFRate and set(named) == {"adaptation"}:
        return (
            "add_adaptive_lif_rate",
            (j, out, named["adaptation"]) + _lif_rate(neurons) + _adaptation(neurons),
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
    if kind is nengo.Izhikevich and set(named) == {"voltage", "recovery"}:
        return "add_izhikevich", (
            j,
            out,
            named["voltage"],
            named["recovery"],
            float(neurons.tau_recovery),
            float(neurons.coupling),
            float(neurons.reset_voltage),
            float(neurons.reset_recovery),
        )
    if kind is nengo.Sigmoid and not named:
        return "add_sigmoid", (j, out, float(neurons.tau_ref))
    if kind is nengo.Tanh and not named:
        return "add_tanh", (j, out, float(neurons.tau_ref))
    if kind is nengo.RegularSpiking and set(named) == {"voltage"}:
        return "add_regular_spiking", (
            j,
            out,
            named["voltage"],
            float(neurons.amplitude),
        )
    return None


TRANSLATORS = {SimNeurons: lower_sim_neurons}
