#!/usr/bin/env bash
# The engine must build and run in one process without MPI (NENGO_MPI_WITH_MPI=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
cmake -S . -B build/nompi -G Ninja -DCMAKE_BUILD_TYPE=Release -DNENGO_MPI_WITH_MPI=OFF \
    -DPython_EXECUTABLE="$PY" -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" > /dev/null
cmake --build build/nompi > /dev/null
"$PY" - <<'PYEOF'
import sys
sys.path.insert(0, "build/nompi")
import _engine  # the module built above, not the installed one
assert _engine.config["mpi"] is False, _engine.config
try:
    _engine.Engine(0.001, fortran_comm=0)
except RuntimeError as e:
    assert "built without MPI" in str(e)
else:
    raise AssertionError("an MPI communicator was accepted by a build without MPI")
import numpy as np
eng = _engine.Engine(0.001)
local = eng.add_component(0, np.zeros(16, dtype=np.uint8))
step = eng.add_view(local, 0, 2, [], [])
time = eng.add_view(local, 8, 0, [], [])
eng.add_time_update(local, 0, step, time)
eng.finalize()
eng.run(5)
assert eng.buffer(local)[:8].view(np.int64)[0] == 5
print("engine without MPI: builds, runs, refuses MPI")
PYEOF
