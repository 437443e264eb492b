"""How native ops that draw random numbers get their generator's state.

A translator for such an op returns ``(method, args, reseed)``. ``reseed(engine, handle,
slot_rng)`` runs when the engine is built and on every reset; ``slot_rng`` is the numpy
RandomState the Python fallback would have been given for this op (seeded from the
simulator seed and the op's slot in the global order, so never from rank or component).
The callables must pickle: they travel to the rank that runs the op.
"""


class ProcessRng:
    """Seed like nengo's SimProcess: ``process.get_rng(slot_rng)``.

    This is ``RandomState(process.seed)`` when the process has a seed, else a generator
    seeded from ``slot_rng``, exactly what the process's own ``make_step`` would draw from.
    """

    def __init__(self, process):
        self.process = process

    def __call__(self, engine, handle, slot_rng):
        engine.set_rng_state(handle, self.process.get_rng(slot_rng).get_state())
