import os
import sys

# Shared test models (tests/models.py) import as a plain module.
sys.path.insert(0, os.path.dirname(__file__))

# Partitions follow the cost model; tests run with the shipped costs, not whatever this
# machine's own calibration (python -m nengo_mpi calibrate) says.
import nengo_mpi.partition.cost_model as _cost_model  # noqa: E402

os.environ[_cost_model.COSTS_ENV] = _cost_model._DEFAULTS_FILE

# No decoder cache (tests that test it set their own), and one BLAS thread for nengo's
# reference builds too: nengo_mpi solves decoders with one BLAS thread, and OpenBLAS's
# results depend on its thread count, so decoders from a cache filled by a solve under
# another thread count, or a nengo reference built with more threads, differ in the
# last bits from ours (which bitwise comparisons would report as a difference).
import nengo  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

nengo.rc.set("decoder_cache", "enabled", "False")
threadpool_limits(limits=1)  # for the whole session (not used as a context)
