"""Native records for neuron types (nengo's SimNeurons), from the kernel registry.

Every neuron type with an entry in `nengo_mpi.kernels` (nengo's own, and any a plugin
registers) is translated here by its entry: the engine method, then the views of J,
the output and the state signals, then the type's parameters. Types are matched
exactly: a subclass may override ``step`` and must keep its own behaviour (it runs
through the Python fallback unless it has an entry of its own).
"""

import numpy as np

from ...kernels import neuron_kernel
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
    kernel = neuron_kernel(type(op.neurons))
    if kernel is None:
        return None
    state = op.state
    if not same_real_dtype(op.J, op.output, *state.values()):
        return None
    if op.J.dtype.name not in kernel.dtypes:
        return None
    views = [layout.vector_view(s) for s in [op.J, op.output] + list(state.values())]
    if any(v is None for v in views) or set(state) != set(kernel.state):
        return None
    named = dict(zip(state.keys(), views[2:]))
    args = (views[0], views[1]) + tuple(named[s] for s in kernel.state)
    args += kernel.param_values(op.neurons)
    if not kernel.draws_from_rng:
        return None if op.state_extra else (kernel.method, args)
    rng_state = _rng_state(op)
    if rng_state is None:
        return None
    return kernel.method, args, NeuronTypeRng(rng_state)
