/* topologies/io.h: communication graphs and mixing matrices in files.
 *
 * Edge list: one link "u v" per line, 0-based agent ids, separated by blanks; blank lines and
 * lines starting with '#' are ignored, except a header "# agents M" which fixes the agent count
 * (otherwise it is the largest id + 1). A repeated link (in either order) is accepted once.
 * Errors name the file and line: a malformed or out-of-range id, a self-loop, trailing text.
 * Weights: "# agents M" then M lines of M numbers (row k = c_k0 .. c_k(M-1)). */
#ifndef DGCN_TOPOLOGIES_IO_H
#define DGCN_TOPOLOGIES_IO_H

#include "topologies/graph.h"
#include "topologies/weights.h"

/* Reads an edge list into out (initialized here). DGCN_EIO when the file cannot be read,
 * DGCN_EFORMAT ("path:line: ...") when a line is malformed. */
int dgcn_topo_read_edges(dgcn_topo *out, const char *path);
/* Writes g as an edge list with the "# agents M" header, each link once as "u v" with u < v. */
int dgcn_topo_write_edges(const dgcn_topo *g, const char *path);
/* Writes g in Graphviz DOT ("graph dgcn { ... }"); with weights (on g's support, may be NULL)
 * each edge is labelled with c_kt. */
int dgcn_topo_write_dot(const dgcn_topo *g, const dgcn_mixing *weights, const char *path);
/* Writes an m x m mixing matrix with 17 significant digits. */
int dgcn_topo_write_weights(int32_t m, const double *c /* (m, m) */, const char *path);
/* Reads a mixing matrix written by dgcn_topo_write_weights: *m receives M and *c a malloc'ed
 * (M, M) array the caller frees. DGCN_EFORMAT ("path:line: ...") on malformed content. */
int dgcn_topo_read_weights(const char *path, int32_t *m, double **c);

#endif
