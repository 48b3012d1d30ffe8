/* coordinator/cmd_topology.c: `dgcn topology`: generate, analyze and design communication graphs. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/plan.h"

#include "topologies/budget.h"
#include "topologies/design.h"
#include "topologies/generate.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/spec.h"
#include "topologies/spectral.h"
#include "topologies/weights.h"

#include "core/error.h"
#include "core/signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: dgcn topology generate|analyze|design [options]   (dgcn topology <verb> --help)\n"
    "\n"
    "Communication graphs between agents and their mixing matrices:\n"
    "  generate  build a topology from a spec (a family such as ring, required, designed,\n"
    "            unions A+B, file:EDGES) and print its properties\n"
    "  analyze   read an edge list and print its properties under a mixing rule\n"
    "  design    choose the links for a required-links graph (the paper's ADMM program)";

static const char s_usage_generate[] =
    "usage: dgcn topology generate --kind SPEC --agents M [--seed S] [--weights RULE] [--out PREFIX]\n"
    "                              [--data DIR | generator options] [--partition METHOD]\n"
    "\n"
    "SPEC is the topology grammar of docs/topologies.md: a family (ring, complete, line, star, torus,\n"
    "hypercube, exponential, er:P, geometric:R, regular:K; random ones redrawn until connected),\n"
    "required or designed[:GAMMA] (the required links of the run plan that partitions the dataset,\n"
    "--data or the generated graph, over M agents with METHOD and seed S), unions A+B, file:EDGES.\n"
    "RULE: auto (the design's own weights for designed, else mh), mh, maxdeg, lazy-mh, lazy-maxdeg,\n"
    "uniform, fastest. Prints agents, links, degree statistics, connectivity, SLEM, spectral gap and\n"
    "||C - 11^T/M||_2; with --out writes PREFIX.edges, PREFIX.dot and PREFIX.weights.";

static const char s_usage_analyze[] =
    "usage: dgcn topology analyze --edges FILE [--weights RULE] [--out PREFIX]\n"
    "\n"
    "FILE: one link 'u v' per line, 0-based ids, optional '# agents M' header. Prints the same\n"
    "properties as generate; with --out writes PREFIX.dot and PREFIX.weights.";

static const char s_usage_design[] =
    "usage: dgcn topology design --required FILE --gamma G [--eps E] [--threshold T] [--out PREFIX]\n"
    "       dgcn topology design --required FILE --budget B [--batch K] [--max-degree D] [--out PREFIX]\n"
    "       dgcn topology design --required FILE --sweep PREFIX [--batch K] [--params P] [--seed S]\n"
    "\n"
    "--budget: the required links plus at most B links added greedily, each lowering the SLEM of\n"
    "Metropolis-Hastings weights (nested and monotone in B; docs/topologies.md). --sweep: the whole\n"
    "greedy front up to the complete graph beside fastest-mixing and MH weights on the required links\n"
    "and ring, exponential and regular:4 joined with them; writes PREFIX.tsv, PREFIX.md and PREFIX.gp\n"
    "(gnuplot; PREFIX.png). Bytes per iteration: one message of P floats per link direction.\n"
    "\n"
    "Minimizes ||C - 11^T/M||_2 + G * sum over non-required pairs |c_kt| subject to C symmetric,\n"
    "C 1 = 1, c_kt >= E on the required links of FILE (an edge list) and c_kt >= 0, by ADMM; keeps\n"
    "the links whose weight exceeds T and returns the fastest-mixing weights on them. Large G keeps\n"
    "only the required links; smaller G adds links for faster consensus. With --out writes\n"
    "PREFIX.edges (the chosen links), PREFIX.dot and PREFIX.weights.";

static int s_fail(const char *verb, int rc) {
    fprintf(stderr, "dgcn topology %s: %s: %s\n", verb, dgcn_strerror(rc), dgcn_error_msg());
    return dgcn_signal_exit_status(rc, 1); /* 128 + N after SIGINT or SIGTERM */
}

static void s_print(const dgcn_topo_report *r, const char *weights) {
    printf("agents        %d\n", r->agents);
    printf("links         %lld\n", (long long)r->links);
    printf("degree        min %d  max %d  mean %.3f\n", r->deg_min, r->deg_max, r->deg_mean);
    printf("connected     %s\n", r->connected ? "yes" : "no");
    printf("weights       %s\n", weights);
    printf("SLEM          %.9f%s\n", r->slem,
           r->exact ? "" : " (a lower bound: Lanczos did not converge)");
    printf("spectral gap  %.9f\n", r->gap);
    printf("||C-J||_2     %.9f\n", r->norm_cj);
}

/* Writes PREFIX.edges (when edges), PREFIX.dot and PREFIX.weights. */
static int s_write(const char *prefix, const dgcn_topo *g, const double *c, int edges) {
    dgcn_mixing mix;
    char path[4096];
    int rc = DGCN_OK;
    if (edges) {
        snprintf(path, sizeof path, "%s.edges", prefix);
        if ((rc = dgcn_topo_write_edges(g, path))) return rc;
    }
    snprintf(path, sizeof path, "%s.dot", prefix);
    if ((rc = dgcn_mixing_from_dense(&mix, g, c))) return rc;
    rc = dgcn_topo_write_dot(g, &mix, path);
    dgcn_mixing_fini(&mix);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s.weights", prefix);
    if ((rc = dgcn_topo_write_weights(g->m, c, path))) return rc;
    printf("wrote         %s%s.dot, .weights\n", prefix, edges ? ".edges, " : "");
    return DGCN_OK;
}

/* dgcn_topo_analyze of g under a dense mixing matrix c (m, m) of the small-m verbs. */
static int s_analyze_dense(const dgcn_topo *g, const double *c, dgcn_topo_report *rep) {
    dgcn_mixing mix;
    int rc = dgcn_mixing_from_dense(&mix, g, c);
    if (!rc) rc = dgcn_topo_analyze(g, &mix, rep);
    dgcn_mixing_fini(&mix);
    return rc;
}

/* Analysis of g under the sparse mixing matrix c (on g's support), printing, and files (the
 * weights file is dense: at most DGCN_TOPO_DENSE_MAX agents). */
static int s_report_c(const char *verb, const dgcn_topo *g, const dgcn_mixing *c,
                      const char *weights, const char *out, int edges) {
    dgcn_topo_report rep;
    double *dense = NULL;
    int rc;
    if (!(rc = dgcn_mixing_check(c, 1e-9)) && !(rc = dgcn_topo_analyze(g, c, &rep))) {
        s_print(&rep, weights);
        if (out && !(rc = dgcn_mixing_to_dense(c, &dense))) rc = s_write(out, g, dense, edges);
    }
    free(dense);
    return rc ? s_fail(verb, rc) : 0;
}

/* Mixing matrix of g under the named rule, analysis, printing and files. */
static int s_report(const char *verb, const dgcn_topo *g, const char *weights, const char *out,
                    int edges) {
    dgcn_mixing_rule rule;
    dgcn_mixing c;
    int rc = dgcn_topo_weights_parse(weights, &rule);
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }
    if ((rc = dgcn_topo_weights_sparse(g, rule, &c))) return s_fail(verb, rc);
    rc = s_report_c(verb, g, &c, weights, out, edges);
    dgcn_mixing_fini(&c);
    return rc;
}

static int s_generate(int argc, char **argv) {
    const char *kind = NULL, *weights = "auto", *out = NULL, *partition = "bfs";
    int agents = 0;
    uint64_t seed = 0;
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    const dgcn_arg table[] = {{"kind", DGCN_ARG_STRING, &kind, "topology spec (see above)", 1, 0},
                              {"agents", DGCN_ARG_INT, &agents, "number of agents M", 1, 46340},
                              {"seed", DGCN_ARG_U64, &seed,
                               "seed of the random families and of the partition", 1, 0},
                              {"weights", DGCN_ARG_STRING, &weights, "mixing rule, or auto", 1, 0},
                              {"out", DGCN_ARG_STRING, &out, "output prefix", 1, 0},
                              {"partition", DGCN_ARG_STRING, &partition,
                               "required/designed: bfs|metis|random|block", 1, 0},
                              DGCN_DATA_SOURCE_ARGS(&src),
                              DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage_generate, table, argc, argv);
    if (a) return a == 1 ? 0 : 2;
    if (!kind || agents < 1) {
        fprintf(stderr, "error: generate needs --kind and --agents (see --help)\n");
        return 2;
    }
    dgcn_topo_spec_info info;
    int rc = dgcn_topo_spec_check(kind, agents, &info);
    if (rc)
        return rc == DGCN_EINVAL ? (fprintf(stderr, "error: %s\n", dgcn_error_msg()), 2)
                                 : s_fail("generate", rc);
    if (!info.needs_required) {
        if (!strcmp(weights, "auto")) weights = "mh";
        dgcn_topo g;
        rc = dgcn_topo_spec_build(kind, agents, NULL, seed, &g, NULL, NULL);
        if (rc) return s_fail("generate", rc);
        printf("kind          %s\n", kind);
        rc = s_report("generate", &g, weights, out, 1);
        dgcn_topo_fini(&g);
        return rc;
    }
    /* The spec needs the required links: the run plan of the dataset, without shards. */
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan plan;
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    memset(&plan, 0, sizeof plan);
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = agents;
    po.partition = partition;
    po.seed = seed;
    po.topology = kind;
    po.cross_edges = "drop"; /* the spec as written */
    po.weights = weights;
    po.connected = 0;
    po.shards = 0;
    rc = dgcn_data_source_open(&src, &ds, &a_hat);
    if (!rc) rc = dgcn_plan_build(&plan, &ds, &a_hat, &po);
    if (!rc) {
        char desc[512];
        dgcn_data_source_describe(&src, desc, sizeof desc);
        printf("kind          %s\n", kind);
        printf("data          %s, partition %s, %lld required links\n", desc, partition,
               (long long)dgcn_topo_links(&plan.required));
        rc = s_report_c("generate", &plan.topo, &plan.c, plan.weights, out, 1);
    } else {
        rc = s_fail("generate", rc);
    }
    dgcn_plan_fini(&plan);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc;
}

static int s_analyze(int argc, char **argv) {
    const char *edges = NULL, *weights = "mh", *out = NULL;
    const dgcn_arg table[] = {{"edges", DGCN_ARG_STRING, &edges, "edge-list file", 1, 0},
                              {"weights", DGCN_ARG_STRING, &weights, "mixing rule", 1, 0},
                              {"out", DGCN_ARG_STRING, &out, "output prefix", 1, 0},
                              DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage_analyze, table, argc, argv);
    if (a) return a == 1 ? 0 : 2;
    if (!edges) {
        fprintf(stderr, "error: analyze needs --edges FILE (see --help)\n");
        return 2;
    }
    dgcn_topo g;
    int rc = dgcn_topo_read_edges(&g, edges);
    if (rc) return s_fail("analyze", rc);
    rc = s_report("analyze", &g, weights, out, 0);
    dgcn_topo_fini(&g);
    return rc;
}

/* One row of the sweep: a named topology, its links beyond the required ones, its SLEM. */
static void s_sweep_row(FILE *tsv, FILE *md, const char *kind, int64_t extra, int64_t links,
                        double slem, int64_t params) {
    double bytes = 2.0 * (double)links * (double)params * sizeof(float);
    fprintf(tsv, "%s\t%lld\t%lld\t%.9f\t%.0f\n", kind, (long long)extra, (long long)links, slem,
            bytes);
    if (md)
        fprintf(md, "| %s | %lld | %lld | %.6f | %.0f |\n", kind, (long long)extra,
                (long long)links, slem, bytes);
}

/* A reference topology for the sweep: family (NULL: the required links) joined with the required
 * links, under weights rule. */
static int s_sweep_ref(FILE *tsv, FILE *md, const dgcn_topo *req, const char *family,
                       dgcn_mixing_rule rule, const char *kind, uint64_t seed, int64_t params,
                       double *c) {
    int rc = DGCN_OK;
    dgcn_topo fam = {0}, u = {0};
    dgcn_topo_report rep;
    if (family) {
        DGCN_CHECK(dgcn_topo_generate(&fam, family, req->m, seed));
        DGCN_CHECK(dgcn_topo_union(&u, req, &fam));
    } else {
        DGCN_CHECK(dgcn_topo_copy(&u, req));
    }
    DGCN_CHECK(dgcn_topo_weights(&u, rule, c));
    DGCN_CHECK(s_analyze_dense(&u, c, &rep));
    int64_t links = dgcn_topo_links(&u);
    s_sweep_row(tsv, md, kind, links - dgcn_topo_links(req), links, rep.slem, params);
fail:
    dgcn_topo_fini(&fam);
    dgcn_topo_fini(&u);
    return rc;
}

/* The budget design's front and the reference topologies into PREFIX.tsv, .md and .gp. */
static int s_sweep(const dgcn_topo *req, const dgcn_budget_opts *bo, const char *prefix,
                   int64_t params, uint64_t seed) {
    int rc = DGCN_OK;
    int32_t m = req->m;
    int64_t pairs = (int64_t)m * (m - 1) / 2, req_links = dgcn_topo_links(req);
    char path[4096];
    FILE *tsv = NULL, *md = NULL, *gp = NULL;
    dgcn_budget_link *front = NULL;
    double *c = NULL;
    dgcn_topo sup = {0};
    dgcn_budget_result res;
    dgcn_budget_opts o = *bo;
    o.budget = -1;
    DGCN_ALLOC(front, pairs - req_links + 1);
    DGCN_ALLOC(c, (int64_t)m * m);
    DGCN_CHECK(dgcn_topo_design_budget(req, &o, &sup, NULL, front, pairs - req_links + 1, &res));
    snprintf(path, sizeof path, "%s.tsv", prefix);
    if (!(tsv = fopen(path, "w"))) DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot write %s", path));
    snprintf(path, sizeof path, "%s.md", prefix);
    if (!(md = fopen(path, "w"))) DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot write %s", path));
    fprintf(tsv, "kind\textra_links\tlinks\tslem\tbytes_per_iter\n");
    fprintf(md,
            "%d agents, %lld required links; greedy front (batch %d): %lld extra links in %.1f "
            "ms%s; bytes per iteration for %lld floats per message\n\n",
            m, (long long)req_links, o.batch, (long long)res.extra_links, res.time_ms,
            res.stopped ? ", stopped where no candidate lowered the SLEM" : "", (long long)params);
    fprintf(md, "| topology | extra links | links | SLEM | bytes/iter |\n|---|---|---|---|---|\n");
    s_sweep_row(tsv, md, "budget", 0, req_links, res.slem_required, params);
    int64_t next_md = 1;
    for (int64_t i = 0; i < res.extra_links; i++) {
        int last = i + 1 == res.extra_links || front[i + 1].slem != front[i].slem;
        if (!last) continue; /* inside a batch: the front is known at its end */
        int show = i + 1 >= next_md || i + 1 == res.extra_links;
        s_sweep_row(tsv, show ? md : NULL, "budget", i + 1, req_links + i + 1, front[i].slem,
                    params);
        if (show) next_md = (i + 1) * 2;
    }
    DGCN_CHECK(s_sweep_ref(tsv, md, req, NULL, DGCN_MIX_MH, "required-mh", seed, params, c));
    DGCN_CHECK(
        s_sweep_ref(tsv, md, req, NULL, DGCN_MIX_FASTEST, "required-fastest", seed, params, c));
    DGCN_CHECK(s_sweep_ref(tsv, md, req, "ring", DGCN_MIX_MH, "required+ring", seed, params, c));
    DGCN_CHECK(s_sweep_ref(tsv, md, req, "exponential", DGCN_MIX_MH, "required+exponential", seed,
                           params, c));
    if (m > 4 && m * 4 % 2 == 0)
        DGCN_CHECK(s_sweep_ref(tsv, md, req, "regular:4", DGCN_MIX_MH, "required+regular:4", seed,
                               params, c));
    s_sweep_row(tsv, md, "complete-uniform", pairs - req_links, pairs, 0.0, params);
    snprintf(path, sizeof path, "%s.gp", prefix);
    if (!(gp = fopen(path, "w"))) DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot write %s", path));
    fprintf(
        gp,
        "set terminal pngcairo size 800,500\nset output '%s.png'\nset datafile separator "
        "'\\t'\nset key top right\nset xlabel 'links beyond the required %lld'\nset ylabel "
        "'SLEM'\nset logscale x 2\nset title '%d agents: greedy budget design and references'\n"
        "plot '%s.tsv' using (strcol(1) eq 'budget' ? $2 + 1 : 1/0):4 with linespoints title 'budget "
        "(MH), x = extra + 1', \\\n     '' using (strcol(1) ne 'budget' ? $2 + 1 : 1/0):4:1 with labels "
        "point pt 7 offset 1,0.5 notitle\n",
        prefix, (long long)req_links, m, prefix);
    printf("sweep         %lld front points to %lld extra links (SLEM %.6f -> %.6f), %.1f ms\n",
           (long long)res.extra_links, (long long)res.extra_links, res.slem_required, res.slem,
           res.time_ms);
    printf("wrote         %s.tsv, .md, .gp\n", prefix);
fail:
    if (tsv) fclose(tsv);
    if (md) fclose(md);
    if (gp) fclose(gp);
    free(front);
    free(c);
    dgcn_topo_fini(&sup);
    return rc;
}

/* `design --budget B`: the greedy design, printed and written like the ADMM design. */
static int s_design_budget(const dgcn_topo *req, const dgcn_budget_opts *bo, const char *out) {
    int rc = DGCN_OK;
    dgcn_topo sup = {0};
    double *c = NULL;
    dgcn_budget_result res;
    dgcn_topo_report rep;
    DGCN_ALLOC(c, (int64_t)req->m * req->m);
    DGCN_CHECK(dgcn_topo_design_budget(req, bo, &sup, c, NULL, 0, &res));
    DGCN_CHECK(dgcn_topo_weights_check(sup.m, c, &sup, 1e-9));
    DGCN_CHECK(s_analyze_dense(&sup, c, &rep));
    printf("required      %lld links, SLEM %.9f (MH)\n", (long long)dgcn_topo_links(req),
           res.slem_required);
    printf("budget        %lld (batch %d)\n", (long long)bo->budget, bo->batch);
    printf("extra links   %lld (%lld joining components)%s\n", (long long)res.extra_links,
           (long long)res.join_links,
           res.stopped ? ", stopped: no candidate lowered the SLEM" : "");
    printf("eigensolves   %lld (%lld Lanczos steps), %.1f ms\n", (long long)res.eigen_solves,
           (long long)res.lanczos_steps, res.time_ms);
    s_print(&rep, "mh on the designed support");
    if (out) DGCN_CHECK(s_write(out, &sup, c, 1));
fail:
    free(c);
    dgcn_topo_fini(&sup);
    return rc;
}

static int s_design(int argc, char **argv) {
    const char *required = NULL, *out = NULL;
    dgcn_design_opts o;
    dgcn_design_defaults(&o);
    o.gamma = -1;
    dgcn_budget_opts bo;
    dgcn_budget_defaults(&bo);
    int budget = -1, params = 1;
    const char *sweep = NULL;
    uint64_t seed = 1;
    const dgcn_arg table[] = {
        {"required", DGCN_ARG_STRING, &required, "edge list of the required links", 1, 0},
        {"gamma", DGCN_ARG_DOUBLE, &o.gamma, "weight of the l1 penalty on extra links (>= 0)", 1,
         0},
        {"eps", DGCN_ARG_DOUBLE, &o.eps, "lower bound on required links' weights", 0, 1},
        {"threshold", DGCN_ARG_DOUBLE, &o.threshold, "weight above which an extra link is kept", 0,
         1},
        {"max-iter", DGCN_ARG_INT, &o.max_iter, "ADMM iteration cap per solve", 1, 100000000},
        {"out", DGCN_ARG_STRING, &out, "output prefix", 1, 0},
        {"budget", DGCN_ARG_INT, &budget, "greedy design: extra links at most", 0, 2000000000},
        {"batch", DGCN_ARG_INT, &bo.batch, "greedy design: links per eigensolve", 1, 64},
        {"max-degree", DGCN_ARG_INT, &bo.max_degree, "greedy design: degree bound (0: none)", 0,
         2000000000},
        {"sweep", DGCN_ARG_STRING, &sweep, "greedy front and references to PREFIX.tsv/.md/.gp", 1,
         0},
        {"params", DGCN_ARG_INT, &params, "sweep: floats per consensus message", 1, 2000000000},
        {"seed", DGCN_ARG_U64, &seed, "sweep: seed of the random references", 1, 0},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage_design, table, argc, argv);
    if (a) return a == 1 ? 0 : 2;
    if (required && (budget >= 0 || sweep)) {
        dgcn_topo req = {0};
        int rc = dgcn_topo_read_edges(&req, required);
        bo.budget = budget;
        if (!rc)
            rc = sweep ? s_sweep(&req, &bo, sweep, params, seed) : s_design_budget(&req, &bo, out);
        dgcn_topo_fini(&req);
        return rc ? s_fail("design", rc) : 0;
    }
    if (!required || o.gamma < 0) {
        fprintf(
            stderr,
            "error: design needs --required FILE and --gamma G >= 0, --budget B or --sweep PREFIX "
            "(see --help)\n");
        return 2;
    }
    int rc;
    dgcn_topo req = {0}, sup = {0};
    double *c = NULL;
    dgcn_design_result res;
    dgcn_topo_report rep;
    DGCN_CHECK(dgcn_topo_read_edges(&req, required));
    c = malloc((size_t)req.m * req.m * sizeof *c);
    if (!c) {
        rc = dgcn_error_set(DGCN_ENOMEM, "mixing matrix of %d agents", req.m);
        goto fail;
    }
    DGCN_CHECK(dgcn_topo_design(&req, &o, &sup, c, &res));
    DGCN_CHECK(dgcn_topo_weights_check(sup.m, c, &sup, 1e-9));
    DGCN_CHECK(s_analyze_dense(&sup, c, &rep));
    printf("required      %lld links\n", (long long)dgcn_topo_links(&req));
    printf("gamma         %g\n", o.gamma);
    printf("extra links   %lld\n", (long long)res.extra_links);
    printf("ADMM          %d + %d iterations (design + refine), %s, %.1f ms\n", res.iterations,
           res.refine_iterations, res.converged ? "converged" : "iteration cap reached",
           res.time_ms);
    printf("objective     %.9f (ADMM, before refining)\n", res.objective);
    s_print(&rep, res.used_metropolis ? "metropolis on the designed support"
                                      : "fastest on the designed support");
    if (out) DGCN_CHECK(s_write(out, &sup, c, 1));
fail:
    free(c);
    dgcn_topo_fini(&sup);
    dgcn_topo_fini(&req);
    return rc ? s_fail("design", rc) : 0;
}

int dgcn_cmd_topology(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "%s\n", s_usage);
        return 2;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
        printf("%s\n", s_usage);
        return 0;
    }
    dgcn_signal_install(); /* the design and the eigensolvers stop at the flag */
    if (!strcmp(verb, "generate")) return s_generate(argc - 1, argv + 1);
    if (!strcmp(verb, "analyze")) return s_analyze(argc - 1, argv + 1);
    if (!strcmp(verb, "design")) return s_design(argc - 1, argv + 1);
    fprintf(stderr, "dgcn topology: unknown verb '%s' (generate, analyze, design)\n", verb);
    return 2;
}
