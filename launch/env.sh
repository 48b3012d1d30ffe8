# launch/env.sh: environment for running dgcn processes (source it).
# One BLAS thread per process: M agents on one machine must not each start a thread pool.
export OPENBLAS_NUM_THREADS=1
# Open MPI refuses root and more ranks than cores unless told; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
