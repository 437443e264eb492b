#!/usr/bin/env bash
# The whole test suite, in the order that keeps the final lines meaningful: MPI tests
# first (every rank prints its own summary), our serial tests last.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MPIRUN=.venv/bin/mpirun
export PATH="$PWD/.venv/bin:$PATH"  # cmake, ninja and mpicxx of the venv

bash ci/install_browser.sh

echo "== engine build without MPI"
bash ci/check_no_mpi_build.sh

echo "== pytest-mpi tests at 2 and 3 ranks"
for n in 2 3; do
    "$MPIRUN" -np "$n" "$PY" -m pytest --with-mpi tests/mpi -q -p no:cacheprovider
done
echo "== bitwise identity and distributed construction at 8 ranks (sharing the cores)"
"$MPIRUN" -np 8 "$PY" -m pytest --with-mpi tests/mpi/test_rank_invariance.py \
    tests/mpi/test_distributed_build_across_ranks.py -q -p no:cacheprovider

echo "== Nengo's own test suite against nengo_mpi.Simulator (1 process)"
"$PY" -m pytest -c tests/nengo_suite/pytest.ini --pyargs nengo -n 2 -q -rs

echo "== Nengo's own test suite, every model split across 2 MPI ranks"
split_log="$(mktemp)"
NENGO_MPI_SPLIT_LOG="$split_log" "$MPIRUN" -np 2 "$PY" -m nengo_mpi -m pytest \
    -c tests/nengo_suite/split.ini --pyargs nengo -q -rs
"$PY" -m nengo_mpi.testing "$split_log"
rm -f "$split_log"

echo "== nengo_spa's test suite against nengo_mpi.Simulator (1 process)"
PYTHONPATH=tests/nengo_spa_suite "$PY" -m pytest -c tests/nengo_spa_suite/pytest.ini \
    --pyargs nengo_spa -p spa_known_failures -n 2 -q -rx

echo "== nengo_spa's test suite, every model split across 2 MPI ranks"
PYTHONPATH=tests/nengo_spa_suite "$MPIRUN" -np 2 "$PY" -m nengo_mpi -m pytest \
    -c tests/nengo_spa_suite/pytest.ini --pyargs nengo_spa -p spa_known_failures -q -rx

echo "== the documentation site: warnings as errors, then its doctests (make docs)"
bash docs/build.sh

echo "== the engine under AddressSanitizer and UndefinedBehaviorSanitizer"
bash ci/sanitize.sh

echo "== nengo_mpi's own tests"
"$PY" -m pytest tests -n 2 -q -p no:cacheprovider --ignore=tests/mpi
