"""A package outside nengo_mpi that registers a native kernel through the
``nengo_mpi.kernels`` entry point (declared in ``example_kernels-0.1.dist-info``, which
makes this directory an installed distribution when it is on ``sys.path``).

`TracedLIF` is a user's LIF that only adds a label of its own: its ``step`` is LIF's, so
it can declare that the engine's LIF kernel computes it. Without the entry point it is a
subclass nengo_mpi does not know, and runs through the Python fallback.
"""

import nengo

from nengo_mpi.kernels import NeuronKernel, register


class TracedLIF(nengo.LIF):
    """nengo's LIF with a tag for the user's own bookkeeping."""

    def __init__(self, tag="", **kwargs):
        super().__init__(**kwargs)
        self.tag = tag


def register_kernels():
    """The entry point: declare TracedLIF's kernel (the engine's LIF)."""
    register(NeuronKernel(TracedLIF, "add_lif", ("voltage", "refractory_time"),
                          ("tau_rc", "tau_ref", "min_voltage", "amplitude")))
