# The comm_mpi entry when configure found no mpirun: skips with a message (SKIP_REGULAR_EXPRESSION),
# or fails when the environment variable CI is set and not empty: CI must run the MPI suites.
if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "")
  message(FATAL_ERROR "comm_mpi: mpirun was not found at configure time and CI=$ENV{CI}: "
                      "the MPI suites must run in CI (install Open MPI and reconfigure)")
endif()
message("SKIP: comm_mpi: mpirun was not found at configure time (install Open MPI and reconfigure)")
