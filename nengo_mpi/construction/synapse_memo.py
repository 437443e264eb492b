"""Discretise each distinct linear synapse once per build, not once per connection.

nengo's ``LinearFilter._get_ss(dt)`` converts a filter's transfer function to state
space and discretises it (a matrix exponential) every time it is called: when a
connection's synapse is built (to size its state) and again when the engine lowers
it. A model has thousands of connections but a handful of distinct synapses (nengo_spa
and most scripts use one ``Lowpass`` time constant throughout), so this was a fifth of
the build of a random graph. The result depends only on the filter's numerator,
denominator, method and ``dt``, so it is computed once per distinct filter and copied
out (bitwise the same arrays as nengo's, which callers may keep).
"""

import contextlib

from nengo.synapses import LinearFilter

_nengo_get_ss = LinearFilter._get_ss  # pylint: disable=protected-access


def _key(synapse, dt):
    num, den = synapse.num, synapse.den
    return (num.dtype.str, num.shape, num.tobytes(), den.dtype.str, den.shape,
            den.tobytes(), bool(synapse.analog), synapse.method, float(dt))


class _Memo:
    def __init__(self):
        self.found = {}

    def get_ss(self, synapse, dt):
        """nengo's ``synapse._get_ss(dt)``, computed once per distinct filter (a
        subclass with its own ``_get_ss`` never gets here, unless through ``super``)."""
        key = _key(synapse, dt)
        if key not in self.found:
            self.found[key] = _nengo_get_ss(synapse, dt)
        return tuple(m.copy() for m in self.found[key])


_active = []


def _memoized_get_ss(self, dt):
    if _active:
        return _active[-1].get_ss(self, dt)
    return _nengo_get_ss(self, dt)


@contextlib.contextmanager
def shared_discretisations():
    """Within this block, nengo's linear synapses are discretised once per distinct
    filter (see the module's docstring). Nested blocks share the outer one's memo."""
    if _active:
        yield
        return
    LinearFilter._get_ss = _memoized_get_ss  # pylint: disable=protected-access
    _active.append(_Memo())
    try:
        yield
    finally:
        _active.pop()
        LinearFilter._get_ss = _nengo_get_ss  # pylint: disable=protected-access
