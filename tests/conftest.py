import os
import sys

# Shared test models (tests/models.py) import as a plain module.
sys.path.insert(0, os.path.dirname(__file__))

# Partitions follow the cost model; tests run with the shipped costs, not whatever this
# machine's own calibration (python -m nengo_mpi calibrate) says.
import nengo_mpi.partition.cost_model as _cost_model  # noqa: E402

os.environ[_cost_model.COSTS_ENV] = _cost_model._DEFAULTS_FILE
