/* coordinator/args.h: declarative command-line options shared by the subcommands.
 *
 * A subcommand lists its options in a table (name, kind, where to store, help); dgcn_args_parse
 * reads "--name value", "--name=value" and "--flag", checks types and ranges, and prints a usage text
 * built from the same table for --help, so every command's help stays true to what it accepts. */
#ifndef DGCN_COORDINATOR_ARGS_H
#define DGCN_COORDINATOR_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum dgcn_arg_kind {
    DGCN_ARG_STRING, /* const char ** */
    DGCN_ARG_INT,    /* int * */
    DGCN_ARG_U64,    /* uint64_t * */
    DGCN_ARG_DOUBLE, /* double * */
    DGCN_ARG_FLAG    /* int *, set to 1 */
} dgcn_arg_kind;

typedef struct dgcn_arg {
    const char *name; /* without the leading "--" */
    dgcn_arg_kind kind;
    void *dst;
    const char *help; /* one line; the default is printed from *dst */
    double min, max;  /* inclusive range for numbers (ignored when min > max) */
} dgcn_arg;

#define DGCN_ARGS_END                                                                              \
    { NULL, DGCN_ARG_FLAG, NULL, NULL, 0, 0 }

/* Copies the rows of src (up to its DGCN_ARGS_END) to table after its first n rows, writes
 * DGCN_ARGS_END after them and returns the new n; table holds cap rows (asserted). */
int dgcn_args_append(dgcn_arg *table, int n, int cap, const dgcn_arg *src);

/* Parses argv[1..argc) against the table (argv[0] is the command name). Returns 0 on success,
 * 1 when --help was printed (the caller exits 0), 2 after printing a usage error to stderr. */
int dgcn_args_parse(const char *usage, const dgcn_arg *table, int argc, char **argv);

/* Prints "usage" and the option table with defaults. */
void dgcn_args_help(FILE *f, const char *usage, const dgcn_arg *table);

#endif
