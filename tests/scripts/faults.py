"""Scripts' helpers for the fault tests: importable on every rank (via PYTHONPATH)."""

import os
import signal

import nengo


class KillSelfAt(nengo.Process):
    """A process that kills its own rank (SIGKILL) once simulated time reaches ``at``."""

    def __init__(self, at, **kwargs):
        super().__init__(default_size_in=0, default_size_out=1, **kwargs)
        self.at = at

    def make_step(self, shape_in, shape_out, dt, rng, state):
        def step(t):
            if t >= self.at:
                os.kill(os.getpid(), signal.SIGKILL)
            return [0.0]

        return step
