#!/bin/bash
#SBATCH --job-name=nengo_mpi-apptainer
#SBATCH --ntasks=2
#SBATCH --time=00:10:00
#SBATCH --output=nengo_mpi-apptainer-%j.out
#
# Run a nengo_mpi model file in the nengo_mpi container, one container per rank
# (the hybrid model of containers/README.md): the host's launcher starts the ranks and
# each rank runs `apptainer exec IMAGE python -m nengo_mpi run ...`. Submit it with
# sbatch, or run it inside an allocation (salloc) with bash:
#
#   python examples/batch/make_model.py model.h5 --components 64
#   sbatch --ntasks=64 examples/batch/apptainer_run.sh model.h5 --time 10 --out probes.h5
#
# Arguments: MODEL.h5 (default model.h5), then options of `python -m nengo_mpi run`
# (default: --time 1 --out probes.h5). What runs is
#
#   $LAUNCH $CONTAINER python -m nengo_mpi run MODEL.h5 [options]
#
# Environment:
#   LAUNCH     the host's launcher, of the image's MPI family: "srun --mpi=pmi2" (the
#              default, for nengo_mpi-mpich.sif); "srun --mpi=pmix" for an Open MPI
#              image; or the host's "mpirun -np N"
#   IMAGE      the SIF (default nengo_mpi-mpich.sif, built by
#              apptainer build nengo_mpi-mpich.sif containers/nengo_mpi.def)
#   CONTAINER  the command that runs a rank inside the image (default:
#              apptainer exec $IMAGE). Set it to the empty string to run the same
#              command on the host's Python instead: to try this script without
#              Apptainer, LAUNCH="mpirun -np 2" CONTAINER= bash apptainer_run.sh ...
#   PYTHON     the Python to run (default: python, the image's own)
#   HDF5_USE_FILE_LOCKING   FALSE by default here (parallel file systems often lack
#              POSIX locks); Apptainer passes it, like the rest of the environment, in.
#   NENGO_MPI_TRUST_FILES   1 to load the model file's Python parts (Node functions,
#              classes without a kernel), which runs their code; without it (or the
#              option --trust) a file that has them is refused, naming each part.
#
# Apptainer binds the current directory and $HOME by default: keep the model and probe
# files under one of them, or add --bind to CONTAINER. Do not run this from the root of
# a nengo_mpi source checkout: Python in the image would import the checkout's
# nengo_mpi, which has no built engine, instead of the image's own.
set -euo pipefail

model=${1:-model.h5}
if [ $# -gt 0 ]; then
    shift
fi
if [ $# -eq 0 ]; then
    set -- --time 1 --out probes.h5
fi

read -r -a launch <<< "${LAUNCH:-srun --mpi=pmi2}"
image=${IMAGE:-nengo_mpi-mpich.sif}
read -r -a container <<< "${CONTAINER-apptainer exec $image}"
python=${PYTHON:-python}
export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}

command=("${launch[@]}" ${container[@]+"${container[@]}"} "$python" -m nengo_mpi run
         "$model" "$@")
echo "nengo_mpi job ${SLURM_JOB_ID:-(not under Slurm)}: ${command[*]}"
exec "${command[@]}"
