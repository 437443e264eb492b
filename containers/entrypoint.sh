#!/bin/sh
# nengo-mpi: the entrypoint of the nengo_mpi images (installed as /usr/local/bin/nengo-mpi).
#
#   nengo-mpi SCRIPT.py [-np N] [args]   run a Nengo script on N ranks (default 1,
#                                        or NENGO_MPI_NP) under the image's own mpirun
#   nengo-mpi MODEL.h5 [-np N] [args]    run a model file: python -m nengo_mpi run ...
#                                        (args: --time T --out probes.h5 ...)
#   nengo-mpi --versions                 nengo_mpi, nengo, MPI and Python versions
#   nengo-mpi self-test [N]              seed example and MPI tests on N ranks (2)
#   nengo-mpi COMMAND [args]             anything else runs as a command, e.g.
#                                        mpirun -np 2 python -m nengo_mpi /work/net.py
#
# Started by a host launcher (srun, or the host's mpirun running `apptainer run` per
# rank), a script or model file runs directly as this rank: no mpirun inside.
set -eu

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "$0"
}

versions() {
    python -m nengo_mpi --version
    echo "Python: $(python -c 'import sys; print(sys.version.split()[0])')"
    echo "image MPI family: $(cat /opt/nengo_mpi/mpi-family 2>/dev/null || echo unknown)"
    echo "image mpirun: $(mpirun --version 2>&1 | grep -m1 -iE 'version|open mpi' | tr -s ' ')"
}

under_launcher() {
    [ -n "${PMI_RANK:-}${PMIX_RANK:-}${OMPI_COMM_WORLD_RANK:-}${SLURM_STEP_ID:-}" ]
}

np=${NENGO_MPI_NP:-1}
case "${1:-}" in
    "" | -h | --help) usage; exit 0 ;;
    --versions | --version) versions; exit 0 ;;
    self-test) shift; exec /opt/nengo_mpi/self-test.sh "$@" ;;
    -np | -n) np=$2; shift 2 ;;
esac

case "${1:-}" in
    *.py | *.h5)
        target=$1
        shift
        if [ "${1:-}" = "-np" ] || [ "${1:-}" = "-n" ]; then np=$2; shift 2; fi
        if [ ! -f "$target" ]; then
            echo "nengo-mpi: no such file: $target (mount its directory, e.g." \
                 "docker run -v \$PWD:/work ... /work/$(basename "$target"))" >&2
            exit 2
        fi
        case "$target" in
            *.h5) set -- run "$target" "$@" ;;
            *) set -- "$target" "$@" ;;
        esac
        if under_launcher; then
            exec python -m nengo_mpi "$@"
        fi
        exec mpirun -np "$np" python -m nengo_mpi "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
