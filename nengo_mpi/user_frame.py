"""Point warnings at the user's line, however deep in nengo_mpi they are raised."""

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel():
    """The ``stacklevel`` that makes ``warnings.warn``, called by the caller of this
    function, name the first frame outside nengo_mpi (the user's code). A fixed level
    would name a different line whenever nengo_mpi's own call chain changes."""
    level = 1
    frame = sys._getframe(1)  # pylint: disable=protected-access
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE):
        level += 1
        frame = frame.f_back
    return level
