/* graph/shard.c: building every agent's shard (own rows, halo maps, A_hat block with local column
 * ids) from a dataset, its A_hat and a partition, and the protobuf serialization of one shard.
 *
 * The halo of agent k is the set of pairs (k, j): node j not owned by k appears as a column in a
 * row k owns. All M shards come from one list of such pairs, sorted twice by stable counting
 * sorts: by (k, owner[j], j) it gives each agent's halo rows (receiver view), by (owner[j], k, j)
 * each agent's send lists (sender view). Both orders agree by construction, which is the shard
 * invariant: what k sends to t is, row for row, t's halo range for k. */
#include "graph/shard.h"

#include "core/error.h"
#include "graph/shard.pb-c.h"

#include <stdlib.h>
#include <string.h>

void dgcn_shard_fini(dgcn_shard *s) {
    if (!s) return;
    free(s->gid);
    dgcn_csr_fini(&s->a);
    dgcn_csr_fini(&s->x);
    free(s->label);
    free(s->split);
    free(s->peer);
    free(s->send_ptr);
    free(s->send_idx);
    free(s->recv_ptr);
    free(s->peer_via);
    free(s->peer_hops);
    free(s->transit);
    free(s->series);
    memset(s, 0, sizeof *s);
}

/* Stable counting sort of the permutation in[0..p) by key[in[i]] in [0, n_keys). cnt has
 * n_keys + 1 entries; on return cnt[k] is the start of key k's block in out. O(p + n_keys). */
static void s_counting_sort(const int64_t *in, int64_t *out, int64_t p, const int32_t *key,
                            int32_t n_keys, int64_t *cnt) {
    memset(cnt, 0, ((size_t)n_keys + 1) * sizeof *cnt);
    for (int64_t i = 0; i < p; i++) cnt[key[in[i]] + 1]++;
    for (int32_t k = 0; k < n_keys; k++) cnt[k + 1] += cnt[k];
    for (int64_t i = 0; i < p; i++) out[cnt[key[in[i]]]++] = in[i];
    for (int32_t k = n_keys; k > 0; k--) cnt[k] = cnt[k - 1];
    cnt[0] = 0;
}

typedef struct s_entry {
    int32_t col;
    float val;
} s_entry;

static int s_cmp_entry(const void *a, const void *b) {
    int32_t x = ((const s_entry *)a)->col, y = ((const s_entry *)b)->col;
    return (x > y) - (x < y);
}

static int s_check_inputs(const dgcn_dataset *ds, const dgcn_csr *a_hat, const int32_t *owner,
                          int32_t m) {
    int32_t n = ds->n;
    if (m < 1) return dgcn_error_set(DGCN_EINVAL, "shard build: %d agents (need >= 1)", (int)m);
    if (!a_hat->rowptr || a_hat->n_rows != n || a_hat->n_cols != n)
        return dgcn_error_set(DGCN_EINVAL, "shard build: A_hat is %d x %d, dataset has %d nodes",
                              (int)a_hat->n_rows, (int)a_hat->n_cols, (int)n);
    if (!ds->x.rowptr || ds->x.n_rows != n)
        return dgcn_error_set(DGCN_EINVAL,
                              "shard build: features have %d rows, dataset has %d nodes",
                              (int)ds->x.n_rows, (int)n);
    if (!ds->label || !ds->split)
        return dgcn_error_set(DGCN_EINVAL, "shard build: dataset has no labels or split");
    for (int32_t i = 0; i < n; i++) {
        if (owner[i] < 0 || owner[i] >= m)
            return dgcn_error_set(DGCN_EINVAL, "shard build: node %d has owner %d, not in [0, %d)",
                                  (int)i, (int)owner[i], (int)m);
        for (int64_t e = a_hat->rowptr[i]; e < a_hat->rowptr[i + 1]; e++)
            if (a_hat->col[e] < 0 || a_hat->col[e] >= n)
                return dgcn_error_set(DGCN_EINVAL,
                                      "shard build: A_hat column %d out of range in row %d",
                                      (int)a_hat->col[e], (int)i);
    }
    return DGCN_OK;
}

/* Fills shard k's own rows, halo, peers and maps. rb/re: k's block of the receiver-sorted pairs
 * rv; sb/se: k's block of the sender-sorted pairs sv. hloc (n) is scratch for halo positions. */
static int s_build_one(const dgcn_dataset *ds, const dgcn_csr *a_hat, const int32_t *owner,
                       const int32_t *own_list /* (n_own) */, const int32_t *lidx /* (n) */,
                       const int32_t *pk, const int32_t *pj, const int64_t *rv, int64_t rb,
                       int64_t re, const int64_t *sv, int64_t sb, int64_t se, int32_t *hloc,
                       s_entry *row_buf, dgcn_shard *s) {
    int rc = DGCN_OK;
    int32_t k = s->agent, n_own = s->n_own, n_halo = (int32_t)(re - rb);
    s->n_halo = n_halo;
    DGCN_ALLOC(s->gid, (size_t)n_own + n_halo);
    for (int32_t r = 0; r < n_own; r++) s->gid[r] = own_list[r];
    for (int64_t p = rb; p < re; p++) {
        int32_t j = pj[rv[p]];
        s->gid[n_own + (p - rb)] = j;
        hloc[j] = n_own + (int32_t)(p - rb);
    }

    /* Peers: the union of the owners of k's halo and the receivers of k's rows, both increasing. */
    int64_t cap = (re - rb) + (se - sb);
    DGCN_ALLOC(s->peer, cap);
    int32_t np = 0;
    int64_t a = rb, b = sb;
    while (a < re || b < se) {
        int32_t pa = a < re ? owner[pj[rv[a]]] : INT32_MAX;
        int32_t pb = b < se ? pk[sv[b]] : INT32_MAX;
        int32_t p = pa < pb ? pa : pb;
        s->peer[np++] = p;
        while (a < re && owner[pj[rv[a]]] == p) a++;
        while (b < se && pk[sv[b]] == p) b++;
    }
    s->n_peers = np;
    DGCN_ALLOC(s->recv_ptr, (size_t)np + 1);
    DGCN_ALLOC(s->send_ptr, (size_t)np + 1);
    DGCN_ALLOC(s->send_idx, se - sb);
    a = rb;
    b = sb;
    for (int32_t q = 0; q < np; q++) {
        s->recv_ptr[q] = (int32_t)(a - rb);
        s->send_ptr[q] = (int32_t)(b - sb);
        while (a < re && owner[pj[rv[a]]] == s->peer[q]) a++;
        for (; b < se && pk[sv[b]] == s->peer[q]; b++) s->send_idx[b - sb] = lidx[pj[sv[b]]];
    }
    s->recv_ptr[np] = (int32_t)(a - rb);
    s->send_ptr[np] = (int32_t)(b - sb);

    /* Rows of A_hat with local column ids: own columns by lidx, halo columns by hloc. */
    int64_t nnz_a = 0, nnz_x = 0;
    for (int32_t r = 0; r < n_own; r++) {
        int32_t i = own_list[r];
        nnz_a += a_hat->rowptr[i + 1] - a_hat->rowptr[i];
        nnz_x += ds->x.rowptr[i + 1] - ds->x.rowptr[i];
    }
    DGCN_CHECK(dgcn_csr_init(&s->a, n_own, n_own + n_halo, nnz_a));
    DGCN_CHECK(dgcn_csr_init(&s->x, n_own, ds->d, nnz_x));
    int64_t oa = 0, ox = 0;
    for (int32_t r = 0; r < n_own; r++) {
        int32_t i = own_list[r];
        int64_t len = 0;
        for (int64_t e = a_hat->rowptr[i]; e < a_hat->rowptr[i + 1]; e++, len++) {
            int32_t j = a_hat->col[e];
            row_buf[len].col = owner[j] == k ? lidx[j] : hloc[j];
            row_buf[len].val = a_hat->val[e];
        }
        qsort(row_buf, (size_t)len, sizeof *row_buf, s_cmp_entry);
        for (int64_t t = 0; t < len; t++, oa++) {
            s->a.col[oa] = row_buf[t].col;
            s->a.val[oa] = row_buf[t].val;
        }
        s->a.rowptr[r + 1] = oa;
        int64_t xb = ds->x.rowptr[i], xe = ds->x.rowptr[i + 1];
        memcpy(s->x.col + ox, ds->x.col + xb, (size_t)(xe - xb) * sizeof *s->x.col);
        memcpy(s->x.val + ox, ds->x.val + xb, (size_t)(xe - xb) * sizeof *s->x.val);
        ox += xe - xb;
        s->x.rowptr[r + 1] = ox;
    }
    DGCN_ALLOC(s->label, n_own);
    DGCN_ALLOC(s->split, n_own);
    for (int32_t r = 0; r < n_own; r++) {
        s->label[r] = ds->label[own_list[r]];
        s->split[r] = ds->split[own_list[r]];
    }
fail:
    return rc;
}

/* The own nodes' columns of the z-scored series (graph/shard.h). O(T n_own). */
static int s_build_series(const dgcn_traffic_samples *p, dgcn_shard *s) {
    int rc = DGCN_OK;
    if (p->n != s->n_global || p->lags != s->d || s->c != 1)
        return dgcn_error_set(DGCN_EINVAL,
                              "shard build: series of %d sensors with %d lags for %d nodes, d=%d, "
                              "c=%d",
                              (int)p->n, (int)p->lags, (int)s->n_global, (int)s->d, (int)s->c);
    s->series_t = p->n_samples + p->lags;
    s->n_samples[0] = p->n_train, s->n_samples[1] = p->n_val, s->n_samples[2] = p->n_test;
    DGCN_ALLOC(s->series, (size_t)s->series_t * s->n_own);
    for (int32_t t = 0; t < s->series_t; t++)
        for (int32_t r = 0; r < s->n_own; r++)
            s->series[(size_t)t * s->n_own + r] = p->z[(size_t)t * p->n + s->gid[r]];
fail:
    return rc;
}

/* O(n + nnz + m) plus the sort of each row's columns (O(nnz log deg)). */
int dgcn_shard_build_all(const dgcn_dataset *ds, const dgcn_csr *a_hat, const int32_t *owner,
                         int32_t m, uint64_t plan_id, dgcn_shard *shards) {
    int rc = DGCN_OK;
    int32_t n = ds->n;
    int64_t *own_ptr = NULL, *cnt = NULL, *perm_a = NULL, *perm_b = NULL, *rv = NULL, *sv = NULL;
    int64_t *r_start = NULL, *s_start = NULL;
    int32_t *own_list = NULL, *lidx = NULL, *mark = NULL, *pk = NULL, *pj = NULL, *po = NULL;
    int32_t *hloc = NULL;
    s_entry *row_buf = NULL;
    if (m >= 1) memset(shards, 0, (size_t)m * sizeof *shards);
    DGCN_CHECK(s_check_inputs(ds, a_hat, owner, m));

    /* Own nodes of each agent, in increasing global id. */
    DGCN_ALLOC(own_ptr, (size_t)m + 1);
    DGCN_ALLOC(own_list, n);
    DGCN_ALLOC(lidx, n);
    for (int32_t i = 0; i < n; i++) own_ptr[owner[i] + 1]++;
    for (int32_t k = 0; k < m; k++) {
        if (own_ptr[k + 1] == 0) {
            rc = dgcn_error_set(DGCN_EINVAL, "shard build: agent %d owns no node", (int)k);
            goto fail;
        }
        own_ptr[k + 1] += own_ptr[k];
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t k = owner[i];
        lidx[i] = shards[k].n_own++;
        own_list[own_ptr[k] + lidx[i]] = i;
    }

    /* Halo pairs (k, j), deduplicated with mark[j] == k while walking agent k's rows. */
    int64_t max_deg = 0;
    DGCN_ALLOC(mark, n);
    DGCN_ALLOC(pk, a_hat->nnz);
    DGCN_ALLOC(pj, a_hat->nnz);
    for (int32_t i = 0; i < n; i++) mark[i] = -1;
    int64_t np = 0;
    for (int32_t k = 0; k < m; k++)
        for (int64_t r = own_ptr[k]; r < own_ptr[k + 1]; r++) {
            int32_t i = own_list[r];
            int64_t deg = a_hat->rowptr[i + 1] - a_hat->rowptr[i];
            if (deg > max_deg) max_deg = deg;
            for (int64_t e = a_hat->rowptr[i]; e < a_hat->rowptr[i + 1]; e++) {
                int32_t j = a_hat->col[e];
                if (owner[j] == k || mark[j] == k) continue;
                mark[j] = k;
                pk[np] = k;
                pj[np] = j;
                np++;
            }
        }
    DGCN_ALLOC(po, np);
    for (int64_t p = 0; p < np; p++) po[p] = owner[pj[p]];

    /* rv: by (k, owner[j], j); sv: by (owner[j], k, j). */
    int32_t n_keys = n > m ? n : m;
    DGCN_ALLOC(cnt, (size_t)n_keys + 1);
    DGCN_ALLOC(perm_a, np);
    DGCN_ALLOC(perm_b, np);
    DGCN_ALLOC(rv, np);
    DGCN_ALLOC(sv, np);
    DGCN_ALLOC(r_start, (size_t)m + 1);
    DGCN_ALLOC(s_start, (size_t)m + 1);
    for (int64_t p = 0; p < np; p++) perm_a[p] = p;
    s_counting_sort(perm_a, perm_b, np, pj, n, cnt); /* by j */
    s_counting_sort(perm_b, perm_a, np, po, m, cnt); /* by (owner j, j) */
    s_counting_sort(perm_a, rv, np, pk, m, cnt);     /* by (k, owner j, j) */
    memcpy(r_start, cnt, ((size_t)m + 1) * sizeof *cnt);
    r_start[m] = np;
    s_counting_sort(perm_b, perm_a, np, pk, m, cnt); /* by (k, j) */
    s_counting_sort(perm_a, sv, np, po, m, cnt);     /* by (owner j, k, j) */
    memcpy(s_start, cnt, ((size_t)m + 1) * sizeof *cnt);
    s_start[m] = np;

    DGCN_ALLOC(hloc, n);
    DGCN_ALLOC(row_buf, max_deg);
    for (int32_t k = 0; k < m; k++) {
        dgcn_shard *s = &shards[k];
        s->plan_id = plan_id;
        s->agent = k;
        s->n_agents = m;
        s->n_global = n;
        s->n_train_global = ds->n_train;
        s->d = ds->d;
        s->c = ds->c;
        DGCN_CHECK(s_build_one(ds, a_hat, owner, own_list + own_ptr[k], lidx, pk, pj, rv,
                               r_start[k], r_start[k + 1], sv, s_start[k], s_start[k + 1], hloc,
                               row_buf, s));
        if (ds->samples) DGCN_CHECK(s_build_series(ds->samples, s));
    }
    rc = DGCN_OK;
fail:
    if (rc && m >= 1)
        for (int32_t k = 0; k < m; k++) dgcn_shard_fini(&shards[k]);
    free(own_ptr);
    free(cnt);
    free(perm_a);
    free(perm_b);
    free(rv);
    free(sv);
    free(r_start);
    free(s_start);
    free(own_list);
    free(lidx);
    free(mark);
    free(pk);
    free(pj);
    free(po);
    free(hloc);
    free(row_buf);
    return rc;
}

/* ---- serialization -------------------------------------------------------------------------- */

int dgcn_shard_pack(const dgcn_shard *s, uint8_t **buf, size_t *len) {
    Dgcnpb__Shard msg = DGCNPB__SHARD__INIT;
    int32_t n_loc = s->n_own + s->n_halo;
    msg.plan_id = s->plan_id;
    msg.agent = s->agent;
    msg.n_agents = s->n_agents;
    msg.n_global = s->n_global;
    msg.n_train_global = s->n_train_global;
    msg.d = s->d;
    msg.c = s->c;
    msg.n_own = s->n_own;
    msg.n_halo = s->n_halo;
    msg.n_gid = (size_t)n_loc;
    msg.gid = s->gid;
    msg.n_a_rowptr = (size_t)s->a.n_rows + 1;
    msg.a_rowptr = s->a.rowptr;
    msg.n_a_col = msg.n_a_val = (size_t)s->a.nnz;
    msg.a_col = s->a.col;
    msg.a_val = s->a.val;
    msg.n_x_rowptr = (size_t)s->x.n_rows + 1;
    msg.x_rowptr = s->x.rowptr;
    msg.n_x_col = msg.n_x_val = (size_t)s->x.nnz;
    msg.x_col = s->x.col;
    msg.x_val = s->x.val;
    msg.n_label = (size_t)s->n_own;
    msg.label = s->label;
    msg.split.len = (size_t)s->n_own;
    msg.split.data = s->split;
    msg.n_peer = (size_t)s->n_peers;
    msg.peer = s->peer;
    msg.n_send_ptr = msg.n_recv_ptr = (size_t)s->n_peers + 1;
    msg.send_ptr = s->send_ptr;
    msg.recv_ptr = s->recv_ptr;
    msg.n_send_idx = s->send_ptr ? (size_t)s->send_ptr[s->n_peers] : 0;
    msg.send_idx = s->send_idx;
    if (s->relay_rounds > 0) {
        msg.has_relay_rounds = 1;
        msg.relay_rounds = s->relay_rounds;
        msg.n_peer_via = msg.n_peer_hops = (size_t)s->n_peers;
        msg.peer_via = s->peer_via;
        msg.peer_hops = s->peer_hops;
        msg.n_transit = (size_t)s->n_transit * DGCN_SHARD_TRANSIT_FIELDS;
        msg.transit = s->transit;
    }
    if (s->series_t > 0) {
        msg.has_series_t = 1;
        msg.series_t = s->series_t;
        msg.n_n_samples = 3;
        msg.n_samples = (int32_t *)(uintptr_t)s->n_samples;
        msg.n_series = (size_t)s->series_t * (size_t)s->n_own;
        msg.series = s->series;
    }
    size_t n = dgcnpb__shard__get_packed_size(&msg);
    *buf = malloc(n ? n : 1);
    if (!*buf)
        return dgcn_error_set(DGCN_ENOMEM, "shard pack: out of memory (%zu bytes) for agent %d", n,
                              (int)s->agent);
    *len = dgcnpb__shard__pack(&msg, *buf);
    return DGCN_OK;
}

/* Checks a CSR given as protobuf arrays: rowptr from 0, monotone, ending at nnz; columns in
 * [0, n_cols) and strictly increasing within a row. */
static int s_check_csr(const char *what, int32_t agent, size_t n_rowptr, const int64_t *rowptr,
                       size_t n_col, const int32_t *col, size_t n_val, int32_t n_rows,
                       int32_t n_cols) {
    if (n_rowptr != (size_t)n_rows + 1)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: %s has %zu row offsets, expected %d", (int)agent,
                              what, n_rowptr, (int)n_rows + 1);
    if (n_col != n_val)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %s has %zu columns but %zu values",
                              (int)agent, what, n_col, n_val);
    if (rowptr[0] != 0 || rowptr[n_rows] != (int64_t)n_col)
        return dgcn_error_set(
            DGCN_EFORMAT,
            "shard of agent %d: %s row offsets run from %lld to %lld, expected 0 to %zu",
            (int)agent, what, (long long)rowptr[0], (long long)rowptr[n_rows], n_col);
    for (int32_t r = 0; r < n_rows; r++) {
        if (rowptr[r + 1] < rowptr[r] || rowptr[r + 1] > (int64_t)n_col)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: %s row offsets not monotone at row %d",
                                  (int)agent, what, (int)r);
        for (int64_t e = rowptr[r]; e < rowptr[r + 1]; e++) {
            if (col[e] < 0 || col[e] >= n_cols)
                return dgcn_error_set(DGCN_EFORMAT,
                                      "shard of agent %d: %s column %d out of [0, %d) in row %d",
                                      (int)agent, what, (int)col[e], (int)n_cols, (int)r);
            if (e > rowptr[r] && col[e] <= col[e - 1])
                return dgcn_error_set(DGCN_EFORMAT,
                                      "shard of agent %d: %s columns not increasing in row %d",
                                      (int)agent, what, (int)r);
        }
    }
    return DGCN_OK;
}

/* Checks offsets ptr (n_ptr = n_peers + 1) from 0, monotone, ending at total. */
static int s_check_ptr(const char *what, int32_t agent, size_t n_ptr, const int32_t *ptr,
                       size_t n_peers, int64_t total) {
    if (n_ptr != n_peers + 1)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %s has %zu entries, expected %zu",
                              (int)agent, what, n_ptr, n_peers + 1);
    if (ptr[0] != 0 || ptr[n_peers] != total)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: %s runs from %d to %d, expected 0 to %lld",
                              (int)agent, what, (int)ptr[0], (int)ptr[n_peers], (long long)total);
    for (size_t p = 0; p < n_peers; p++)
        if (ptr[p + 1] < ptr[p])
            return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %s decreases at peer %zu",
                                  (int)agent, what, p);
    return DGCN_OK;
}

static int s_cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The relay fields: sizes, agents in range and not the shard's own, hops within the rounds. */
static int s_validate_relay(const Dgcnpb__Shard *m) {
    int32_t k = m->agent, na = m->n_agents;
    int32_t rounds = m->has_relay_rounds ? m->relay_rounds : 0;
    if (rounds == 0) {
        if (m->n_peer_via || m->n_peer_hops || m->n_transit)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: relay routes without relay_rounds", (int)k);
        return DGCN_OK;
    }
    if (rounds < 0 || rounds >= na)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: relay_rounds %d not in [1, %d)",
                              (int)k, (int)rounds, (int)na);
    if (m->n_peer_via != m->n_peer || m->n_peer_hops != m->n_peer ||
        m->n_transit % DGCN_SHARD_TRANSIT_FIELDS != 0)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: %zu relay vias, %zu hop counts for %zu peers "
                              "and %zu transit values (a multiple of %d expected)",
                              (int)k, m->n_peer_via, m->n_peer_hops, m->n_peer, m->n_transit,
                              DGCN_SHARD_TRANSIT_FIELDS);
    for (size_t p = 0; p < m->n_peer; p++) {
        int32_t v = m->peer_via[p], h = m->peer_hops[p];
        if (v < 0 || v >= na || v == k || h < 1 || h > rounds || (h == 1 && v != m->peer[p]))
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: route to peer %d via %d in %d hops "
                                  "(relay_rounds %d)",
                                  (int)k, (int)m->peer[p], (int)v, (int)h, (int)rounds);
    }
    for (size_t e = 0; e < m->n_transit; e += DGCN_SHARD_TRANSIT_FIELDS) {
        const int32_t *f = m->transit + e;
        int ok = f[DGCN_TRANSIT_ROWS] >= 0 && f[DGCN_TRANSIT_LEN] >= 2 &&
                 f[DGCN_TRANSIT_LEN] <= rounds && f[DGCN_TRANSIT_POS] >= 1 &&
                 f[DGCN_TRANSIT_POS] < f[DGCN_TRANSIT_LEN] &&
                 f[DGCN_TRANSIT_SRC] != f[DGCN_TRANSIT_DST];
        const int agents[4] = {DGCN_TRANSIT_SRC, DGCN_TRANSIT_DST, DGCN_TRANSIT_PREV,
                               DGCN_TRANSIT_NEXT};
        for (int i = 0; i < 4; i++)
            ok = ok && f[agents[i]] >= 0 && f[agents[i]] < na && f[agents[i]] != k;
        if (!ok)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: transit entry %zu (flow %d -> %d, %d rows, "
                                  "position %d of %d hops, from %d to %d) invalid",
                                  (int)k, e / DGCN_SHARD_TRANSIT_FIELDS, (int)f[0], (int)f[1],
                                  (int)f[2], (int)f[3], (int)f[4], (int)f[5], (int)f[6]);
    }
    return DGCN_OK;
}

/* Series present: T steps of every own node, samples that fit them (T = samples + d, d >= 1,
 * a training sample at least) and one output (c = 1); absent: no series values. */
static int s_validate_series(const Dgcnpb__Shard *m) {
    int32_t k = m->agent, t = m->has_series_t ? m->series_t : 0;
    if (t == 0) {
        if (m->n_series || m->n_n_samples)
            return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: series values without series_t",
                                  (int)k);
        return DGCN_OK;
    }
    if (m->n_n_samples != 3 || m->d < 1 || m->c != 1 || t < 0)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: series of %d steps with %zu split counts, d=%d, "
                              "c=%d (3 counts, d >= 1, c = 1 expected)",
                              (int)k, (int)t, m->n_n_samples, (int)m->d, (int)m->c);
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {
        if (m->n_samples[s] < 0)
            return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %d samples in split %d", (int)k,
                                  (int)m->n_samples[s], s);
        total += m->n_samples[s];
    }
    if (m->n_samples[0] < 1 || total + m->d != t || m->n_series != (size_t)t * (size_t)m->n_own)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: %zu series values and %lld samples for %d steps "
                              "of %d nodes with %d lags",
                              (int)k, m->n_series, (long long)total, (int)t, (int)m->n_own,
                              (int)m->d);
    return DGCN_OK;
}

static int s_validate(const Dgcnpb__Shard *m) {
    int rc = DGCN_OK;
    int32_t k = m->agent;
    int32_t *sorted = NULL;
    if (m->n_agents < 1 || k < 0 || k >= m->n_agents)
        return dgcn_error_set(DGCN_EFORMAT, "shard: agent %d not in [0, %d)", (int)k,
                              (int)m->n_agents);
    if (m->n_own < 1 || m->n_halo < 0 || m->n_global < 1 ||
        (int64_t)m->n_own + m->n_halo > (int64_t)m->n_global)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %d own + %d halo rows for %d nodes",
                              (int)k, (int)m->n_own, (int)m->n_halo, (int)m->n_global);
    if (m->d < 0 || m->c < 1 || m->n_train_global < 0 || m->n_train_global > m->n_global)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: bad sizes d=%d c=%d n_train=%d",
                              (int)k, (int)m->d, (int)m->c, (int)m->n_train_global);
    int32_t n_own = m->n_own, n_loc = m->n_own + m->n_halo;
    if (m->n_gid != (size_t)n_loc)
        return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: %zu global ids for %d local rows",
                              (int)k, m->n_gid, (int)n_loc);
    for (int32_t r = 0; r < n_loc; r++)
        if (m->gid[r] < 0 || m->gid[r] >= m->n_global)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: global id %d of row %d not in [0, %d)",
                                  (int)k, (int)m->gid[r], (int)r, (int)m->n_global);
    for (int32_t r = 1; r < n_own; r++)
        if (m->gid[r] <= m->gid[r - 1])
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: own global ids not increasing at row %d",
                                  (int)k, (int)r);
    if ((rc = s_check_csr("A_hat", k, m->n_a_rowptr, m->a_rowptr, m->n_a_col, m->a_col, m->n_a_val,
                          n_own, n_loc)))
        return rc;
    if ((rc = s_check_csr("features", k, m->n_x_rowptr, m->x_rowptr, m->n_x_col, m->x_col,
                          m->n_x_val, n_own, m->d)))
        return rc;
    if (m->n_label != (size_t)n_own || m->split.len != (size_t)n_own)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard of agent %d: %zu labels and %zu split flags for %d rows",
                              (int)k, m->n_label, m->split.len, (int)n_own);
    for (int32_t r = 0; r < n_own; r++) {
        if (m->label[r] < -1 || m->label[r] >= m->c)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "shard of agent %d: label %d of row %d not in [-1, %d)", (int)k,
                                  (int)m->label[r], (int)r, (int)m->c);
        if (m->split.data[r] > DGCN_SPLIT_TEST)
            return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: split flag %d of row %d",
                                  (int)k, (int)m->split.data[r], (int)r);
    }
    for (size_t p = 0; p < m->n_peer; p++) {
        int32_t t = m->peer[p];
        if (t < 0 || t >= m->n_agents || t == k || (p > 0 && t <= m->peer[p - 1]))
            return dgcn_error_set(
                DGCN_EFORMAT,
                "shard of agent %d: peer %d at position %zu (peers must increase, lie in "
                "[0, %d) and differ from the agent)",
                (int)k, (int)t, p, (int)m->n_agents);
    }
    if ((rc = s_check_ptr("send_ptr", k, m->n_send_ptr, m->send_ptr, m->n_peer,
                          (int64_t)m->n_send_idx)))
        return rc;
    if ((rc = s_check_ptr("recv_ptr", k, m->n_recv_ptr, m->recv_ptr, m->n_peer, m->n_halo)))
        return rc;
    if ((rc = s_validate_relay(m))) return rc;
    if ((rc = s_validate_series(m))) return rc;
    for (size_t e = 0; e < m->n_send_idx; e++)
        if (m->send_idx[e] < 0 || m->send_idx[e] >= n_own)
            return dgcn_error_set(DGCN_EFORMAT, "shard of agent %d: send index %d not in [0, %d)",
                                  (int)k, (int)m->send_idx[e], (int)n_own);
    for (size_t p = 0; p < m->n_peer; p++)
        for (int32_t h = m->recv_ptr[p] + 1; h < m->recv_ptr[p + 1]; h++)
            if (m->gid[n_own + h] <= m->gid[n_own + h - 1])
                return dgcn_error_set(
                    DGCN_EFORMAT, "shard of agent %d: halo global ids not increasing for peer %d",
                    (int)k, (int)m->peer[p]);
    /* Every local row is a distinct node. */
    DGCN_ALLOC(sorted, n_loc);
    memcpy(sorted, m->gid, (size_t)n_loc * sizeof *sorted);
    qsort(sorted, (size_t)n_loc, sizeof *sorted, s_cmp_i32);
    for (int32_t r = 1; r < n_loc; r++)
        if (sorted[r] == sorted[r - 1]) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "shard of agent %d: node %d appears twice among local rows", (int)k,
                                (int)sorted[r]);
            goto fail;
        }
fail:
    free(sorted);
    return rc;
}

#define S_COPY(dst, src, n)                                                                        \
    do {                                                                                           \
        DGCN_ALLOC(dst, n);                                                                        \
        if ((n) > 0) memcpy(dst, src, (size_t)(n) * sizeof *(dst));                                \
    } while (0)

int dgcn_shard_unpack(dgcn_shard *s, const uint8_t *buf, size_t len) {
    int rc = DGCN_OK;
    memset(s, 0, sizeof *s);
    Dgcnpb__Shard *m = dgcnpb__shard__unpack(NULL, len, buf);
    if (!m)
        return dgcn_error_set(DGCN_EFORMAT,
                              "shard: %zu bytes are not a valid Shard message "
                              "(truncated or corrupted)",
                              len);
    DGCN_CHECK(s_validate(m));
    s->plan_id = m->plan_id;
    s->agent = m->agent;
    s->n_agents = m->n_agents;
    s->n_global = m->n_global;
    s->n_train_global = m->n_train_global;
    s->d = m->d;
    s->c = m->c;
    s->n_own = m->n_own;
    s->n_halo = m->n_halo;
    s->n_peers = (int32_t)m->n_peer;
    S_COPY(s->gid, m->gid, m->n_gid);
    DGCN_CHECK(dgcn_csr_init(&s->a, m->n_own, m->n_own + m->n_halo, (int64_t)m->n_a_col));
    memcpy(s->a.rowptr, m->a_rowptr, m->n_a_rowptr * sizeof *s->a.rowptr);
    if (m->n_a_col) memcpy(s->a.col, m->a_col, m->n_a_col * sizeof *s->a.col);
    if (m->n_a_val) memcpy(s->a.val, m->a_val, m->n_a_val * sizeof *s->a.val);
    DGCN_CHECK(dgcn_csr_init(&s->x, m->n_own, m->d, (int64_t)m->n_x_col));
    memcpy(s->x.rowptr, m->x_rowptr, m->n_x_rowptr * sizeof *s->x.rowptr);
    if (m->n_x_col) memcpy(s->x.col, m->x_col, m->n_x_col * sizeof *s->x.col);
    if (m->n_x_val) memcpy(s->x.val, m->x_val, m->n_x_val * sizeof *s->x.val);
    S_COPY(s->label, m->label, m->n_label);
    S_COPY(s->split, m->split.data, m->split.len);
    S_COPY(s->peer, m->peer, m->n_peer);
    S_COPY(s->send_ptr, m->send_ptr, m->n_send_ptr);
    S_COPY(s->send_idx, m->send_idx, m->n_send_idx);
    S_COPY(s->recv_ptr, m->recv_ptr, m->n_recv_ptr);
    if (m->has_relay_rounds && m->relay_rounds > 0) {
        s->relay_rounds = m->relay_rounds;
        s->n_transit = (int32_t)(m->n_transit / DGCN_SHARD_TRANSIT_FIELDS);
        S_COPY(s->peer_via, m->peer_via, m->n_peer_via);
        S_COPY(s->peer_hops, m->peer_hops, m->n_peer_hops);
        S_COPY(s->transit, m->transit, m->n_transit);
    }
    if (m->has_series_t && m->series_t > 0) {
        s->series_t = m->series_t;
        memcpy(s->n_samples, m->n_samples, sizeof s->n_samples);
        S_COPY(s->series, m->series, m->n_series);
    }
    dgcnpb__shard__free_unpacked(m, NULL);
    return DGCN_OK;
fail:
    dgcnpb__shard__free_unpacked(m, NULL);
    dgcn_shard_fini(s);
    return rc;
}
