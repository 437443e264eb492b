#!/bin/sh
# The self-test of a nengo_mpi image (`nengo-mpi self-test [N]`, Apptainer's %test):
# versions, the seed example on N ranks (default 2) and the project's pytest-mpi tests on
# N ranks, all under the image's own mpirun. Exits non-zero on any failure. (nengo's own
# pytest plugin is left out: it needs matplotlib, which the images do not carry.)
set -eu
np=${1:-2}
export PYTHONDONTWRITEBYTECODE=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# nengo's decoder cache lives in ~/.cache/nengo; $HOME may be read-only in a container
# (Apptainer's %test runs as a fake root whose /root is not writable).
export HOME="$work"

echo "== self-test: versions"
nengo-mpi --versions

echo "== self-test: seed example on $np ranks"
mpirun -np "$np" python -m nengo_mpi /opt/nengo_mpi/examples/sine_squared.py --time 1 \
    | tee seed.out
grep -q "RMSE of x\*\*2" seed.out

echo "== self-test: pytest-mpi tests on $np ranks"
mpirun -np "$np" python -m pytest --with-mpi /opt/nengo_mpi/tests/mpi -q \
    -p no:cacheprovider -p no:nengo --rootdir /opt/nengo_mpi/tests

echo "self-test: PASS"
