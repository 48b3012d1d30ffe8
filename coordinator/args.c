/* coordinator/args.c: the option parser behind every subcommand. */
#include "coordinator/args.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void s_default_text(const dgcn_arg *a, char *buf, size_t cap) {
    switch (a->kind) {
    case DGCN_ARG_STRING: {
        const char *v = *(const char **)a->dst;
        snprintf(buf, cap, "%s", v ? v : "");
        break;
    }
    case DGCN_ARG_INT: snprintf(buf, cap, "%d", *(int *)a->dst); break;
    case DGCN_ARG_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(uint64_t *)a->dst); break;
    case DGCN_ARG_DOUBLE: snprintf(buf, cap, "%g", *(double *)a->dst); break;
    case DGCN_ARG_FLAG: buf[0] = '\0'; break;
    }
}

void dgcn_args_help(FILE *f, const char *usage, const dgcn_arg *table) {
    fprintf(f, "%s\n\noptions:\n", usage);
    for (const dgcn_arg *a = table; a->name; a++) {
        char def[256], lhs[64];
        s_default_text(a, def, sizeof def);
        snprintf(lhs, sizeof lhs, "--%s%s", a->name, a->kind == DGCN_ARG_FLAG ? "" : " X");
        fprintf(f, "  %-24s %s", lhs, a->help);
        if (def[0]) fprintf(f, " [%s]", def);
        fputc('\n', f);
    }
    fprintf(f, "  %-24s %s\n", "--help", "print this text");
}

static int s_bad(const char *usage, const char *fmt, const char *name, const char *val) {
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, name, val);
    fprintf(stderr, "\n(see --help)\n");
    (void)usage;
    return 2;
}

static int s_set(const dgcn_arg *a, const char *val, const char *usage) {
    char *end = NULL;
    errno = 0;
    switch (a->kind) {
    case DGCN_ARG_STRING: *(const char **)a->dst = val; return 0;
    case DGCN_ARG_FLAG: *(int *)a->dst = 1; return 0;
    case DGCN_ARG_INT: {
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < -2147483647L || v > 2147483647L)
            return s_bad(usage, "--%s expects an integer, got '%s'", a->name, val);
        if (a->min <= a->max && (v < a->min || v > a->max)) {
            fprintf(stderr, "error: --%s must be in [%g, %g], got %ld\n", a->name, a->min, a->max,
                    v);
            return 2;
        }
        *(int *)a->dst = (int)v;
        return 0;
    }
    case DGCN_ARG_U64: {
        if (val[0] == '-')
            return s_bad(usage, "--%s expects a non-negative integer, got '%s'", a->name, val);
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || end == val || *end)
            return s_bad(usage, "--%s expects a non-negative integer, got '%s'", a->name, val);
        *(uint64_t *)a->dst = (uint64_t)v;
        return 0;
    }
    case DGCN_ARG_DOUBLE: {
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v))
            return s_bad(usage, "--%s expects a number, got '%s'", a->name, val);
        if (a->min <= a->max && (v < a->min || v > a->max)) {
            fprintf(stderr, "error: --%s must be in [%g, %g], got %g\n", a->name, a->min, a->max,
                    v);
            return 2;
        }
        *(double *)a->dst = v;
        return 0;
    }
    }
    return 2;
}

int dgcn_args_append(dgcn_arg *table, int n, int cap, const dgcn_arg *src) {
    for (; src->name; src++) {
        assert(n + 1 < cap);
        table[n++] = *src;
    }
    table[n] = (dgcn_arg)DGCN_ARGS_END;
    return n;
}

int dgcn_args_parse(const char *usage, const dgcn_arg *table, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            dgcn_args_help(stdout, usage, table);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "error: unexpected argument '%s' (options start with --; see --help)\n",
                    arg);
            return 2;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const dgcn_arg *a = table;
        for (; a->name; a++)
            if (strlen(a->name) == len && !strncmp(a->name, name, len)) break;
        if (!a->name) {
            fprintf(stderr, "error: unknown option '--%.*s' (see --help)\n", (int)len, name);
            return 2;
        }
        const char *val = NULL;
        if (a->kind == DGCN_ARG_FLAG) {
            if (eq) {
                fprintf(stderr, "error: --%s takes no value\n", a->name);
                return 2;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "error: --%s needs a value (see --help)\n", a->name);
            return 2;
        }
        int rc = s_set(a, val, usage);
        if (rc) return rc;
    }
    return 0;
}
