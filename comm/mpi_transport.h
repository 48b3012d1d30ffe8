/* comm/mpi_transport.h: the MPI backend. Outside comm/ it is reached by the address mpi://
 * (comm/transport.h); this header is for comm's own tests (tests/mpi_conformance.c).
 *
 * World rank 0 is the coordinator, ranks 1..M are agents 0..M-1. Errors are returned
 * (MPI_ERRORS_RETURN), never fatal. Neighbour exchanges run on a distributed-graph communicator
 * over the agents with MPI_Isend/MPI_Irecv polled with MPI_Test until the deadline; each message
 * carries a 32-byte header (run id, sender, iteration, layer, channel, length) that is checked.
 * Opening is collective: rank 0 calls dgcn_mpi_hub_open while every other rank calls dgcn_mpi_open;
 * dgcn_mpi_set_neighbors is collective over the agents. In a build without MPI every function
 * returns DGCN_EUNSUPPORTED. */
#ifndef DGCN_COMM_MPI_TRANSPORT_H
#define DGCN_COMM_MPI_TRANSPORT_H

#include "comm/hub.h"
#include "comm/transport.h"

#include <stdint.h>

/* 1 when built with MPI, else 0. */
int dgcn_mpi_available(void);

/* MPI_Init_thread (funneled) and MPI_ERRORS_RETURN on the world communicator. Starts the
 * watchdog first: MPI_Init_thread, and later every blocking collective past a start-up gate, must
 * complete within its deadline, or the watchdog prints what this rank waited for and ends the job
 * (MPI_Abort; _exit(DGCN_MPI_WATCHDOG_STATUS) while MPI is not initialised). MPI_Init's deadline
 * is DGCN_MPI_INIT_DEADLINE_MS milliseconds, or the environment variable of that name. */
int dgcn_mpi_init(int *argc, char ***argv);

#define DGCN_MPI_INIT_DEADLINE_MS 60000
#define DGCN_MPI_WATCHDOG_STATUS 86 /* exit status (and MPI_Abort code) of a watchdog's abort */

/* MPI_Finalize, if initialised and not yet finalised; stops the watchdog. On world rank 0 (which
 * finalises last) it is bounded like MPI_Init: a rank that never finalises makes it
 * _exit(DGCN_MPI_WATCHDOG_STATUS). */
int dgcn_mpi_finalize(void);

/* For tests: called (when set) by every rank right after the start-up gate of dgcn_mpi_open and
 * dgcn_mpi_hub_open, before the blocking MPI_Comm_split; world rank as argument. */
extern void (*dgcn__mpi_after_gate)(int rank);
/* For tests: called (when set) by every rank right before that start-up gate. */
extern void (*dgcn__mpi_before_gate)(int rank);

/* This process's world rank and the world size. */
int dgcn_mpi_rank(int *rank, int *size);

/* Rank 0: the coordinator's endpoint for size-1 agents; broadcasts run_id to the agents. */
int dgcn_mpi_hub_open(uint64_t run_id, int deadline_ms, dgcn_hub **h);

/* Ranks >= 1: agent rank-1's endpoint (no neighbours yet); every rank must arrive within
 * deadline_ms (DGCN_ETIMEDOUT otherwise), then it learns the run id from rank 0 within
 * deadline_ms. */
int dgcn_mpi_open(int deadline_ms, dgcn_transport **t);

/* Collective over the agents: sets the neighbours (increasing agent ids, symmetric across agents)
 * and builds the distributed-graph communicator. Once per endpoint. Waits at most the endpoint's
 * deadline for every agent to arrive (DGCN_ETIMEDOUT naming the collective otherwise). */
int dgcn_mpi_set_neighbors(dgcn_transport *t, const int32_t *neighbors, int32_t n);

/* Blocks until every agent endpoint has called it (MPI_Ibarrier over the agents, bounded by the
 * endpoint's deadline). */
int dgcn_mpi_agent_barrier(dgcn_transport *t);

#endif
