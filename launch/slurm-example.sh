#!/usr/bin/env bash
# launch/slurm-example.sh: a dgcn training job on a Slurm cluster, one MPI rank per agent plus the
# coordinator (rank 0). Submit with:  sbatch --ntasks=$((M + 1)) launch/slurm-example.sh [options]
#
#SBATCH --job-name=dgcn
#SBATCH --ntasks=9
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --output=dgcn-%j.out
#
# The agents are the tasks after the first; the run directory goes to runs/slurm-<job id>. Each
# task uses one BLAS thread. Every wait is bounded by --deadline-ms, so a lost node ends the job
# with an error naming the agent instead of hanging until the time limit.
set -euo pipefail
here="${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export OPENBLAS_NUM_THREADS=1
dgcn="${DGCN:-$here/build/coordinator/dgcn}"
srun --mpi=pmix "$dgcn" verify --transport mpi "$@"
srun --mpi=pmix "$dgcn" train --transport mpi --deadline-ms 60000 \
  --out "$here/runs/slurm-${SLURM_JOB_ID:-local}" "$@"
