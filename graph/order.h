/* graph/order.h: node orders that put a graph's neighbours near each other in memory.
 *
 * The sparse products gather the rows of a node's neighbours; numbered in reverse Cuthill-McKee
 * order (a breadth-first order from a low-degree node of each component, each node's unvisited
 * neighbours by increasing degree, reversed), neighbours sit a few rows apart, so a product's
 * gathers hit rows that are already in cache. Applying an order renumbers rows and columns; the
 * caller keeps each node's original id wherever results are keyed by it (dropout masks). */
#ifndef DGCN_GRAPH_ORDER_H
#define DGCN_GRAPH_ORDER_H

#include "graph/csr.h"

#include <stdint.h>

/* The reverse Cuthill-McKee order of the symmetric graph adj (n, n): order[k] = the node placed
 * k-th, a permutation of 0..n-1. Ties (equal degrees) go to the lower id, so the order is a pure
 * function of adj. */
int dgcn_order_rcm(const dgcn_csr *adj, int32_t *order /* (n) */);

/* The bandwidth of adj numbered by order (NULL: as it is): the largest |pos(u) - pos(v)| over its
 * entries. */
int64_t dgcn_order_bandwidth(const dgcn_csr *adj, const int32_t *order);

/* out = the rows of m in the order given (row k of out is row order[k] of m); with cols != 0 the
 * columns too (m square: column j of out is column order[j] of m, each row's columns sorted).
 * out is initialized here. */
int dgcn_csr_reorder(dgcn_csr *out, const dgcn_csr *m, const int32_t *order, int cols);

#endif
