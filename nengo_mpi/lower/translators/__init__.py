"""Translate nengo operators into native engine records.

``native_record(op, layout, dt)`` returns ``(engine_method, args)`` for an operator the
C++ engine implements, or None, in which case the operator runs through the Python
fallback (its own ``make_step`` on views of the engine's buffer). Returning None is
always correct, only slower: each translator declines anything it does not fully
understand rather than guessing.

One module per operator family; each exposes ``TRANSLATORS``, a dict from the exact
operator type to its translator. Subclasses are not matched: they may change
``make_step``, and the fallback runs whatever they do.
"""

from . import basic, learning, neurons, processes, transforms

TRANSLATORS = {}
for _family in (basic, neurons, processes, learning, transforms):
    TRANSLATORS.update(_family.TRANSLATORS)


def native_record(op, layout, dt):
    """``(engine_method, args)`` for ``op``, or None to run it through Python."""
    translator = TRANSLATORS.get(type(op))
    return None if translator is None else translator(op, layout, dt)
