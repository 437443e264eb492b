"""Hooks and instrumentation for running Nengo's own test suite (see tests/nengo_suite/).

`split_log` records how each Simulator was split; ``python -m nengo_mpi.testing LOG``
summarises such a log.
"""

import nengo


def reference_simulator(request):  # pylint: disable=unused-argument
    """nengo.Simulator, loaded through ``nengo_simloader`` (which passes the request).

    Going through the loader (rather than ``nengo_simulator = nengo.Simulator``) makes
    nengo's plugin select exactly the backend test set it selects for nengo_mpi, with the
    same test ids and so the same seeds: the two runs are comparable test for test.
    """
    return nengo.Simulator
