#!/bin/bash
#SBATCH --job-name=nengo_mpi
#SBATCH --ntasks=2
#SBATCH --time=00:10:00
#SBATCH --output=nengo_mpi-%j.out
#
# Slurm batch job: run a nengo_mpi model file on every task of the allocation.
#
# Make the model file once, outside the job (building is serial), then submit:
#
#   python examples/batch/make_model.py model.h5 --components 64
#   sbatch --ntasks=64 examples/batch/slurm_job.sh model.h5 --time 10 --out probes.h5 \
#       --checkpoint ck.h5 --checkpoint-every 600
#   sbatch --ntasks=64 examples/batch/slurm_job.sh model.h5 --resume ck.h5 --time 10 \
#       --out more.h5
#
# Arguments: MODEL.h5 (default model.h5), then options of `python -m nengo_mpi run`
# (default: --time 1 --out probes.h5). What runs is
#
#   $LAUNCH $PYTHON -m nengo_mpi run MODEL.h5 [options]
#
# Environment (each has a default for a cluster; set them to run this script elsewhere):
#   LAUNCH   starts one rank per task: "srun --mpi=pmi2" (MPICH-family MPI, the
#            default); "srun --mpi=pmix" for Open MPI. To try this very script on a
#            workstation: LAUNCH="mpirun -np 2" bash examples/batch/slurm_job.sh ...
#   PYTHON   the Python that has nengo_mpi (default: python, e.g. an activated venv or
#            a loaded module)
#   HDF5_USE_FILE_LOCKING   FALSE by default here: parallel file systems often lack
#            the POSIX locks HDF5 asks for; every rank only reads the model file.
#   NENGO_MPI_TRUST_FILES   1 to load the model file's Python parts (Node functions,
#            classes without a kernel), which runs their code: only for a file you
#            made or trust. Without it (or the option --trust) a file that has them
#            is refused, naming each part. (sbatch passes the environment to the job.)
set -euo pipefail

model=${1:-model.h5}
if [ $# -gt 0 ]; then
    shift
fi
if [ $# -eq 0 ]; then
    set -- --time 1 --out probes.h5
fi

read -r -a launch <<< "${LAUNCH:-srun --mpi=pmi2}"
python=${PYTHON:-python}
export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}

command=("${launch[@]}" "$python" -m nengo_mpi run "$model" "$@")
echo "nengo_mpi job ${SLURM_JOB_ID:-(not under Slurm)}: ${command[*]}"
exec "${command[@]}"
