/* coordinator/run_config.h: the run configuration (comm/run_config.h) as the coordinator shows it:
 * config.json's "run_config" object, the check that --resume keeps the hyper-parameters, and the
 * command-line options of train and study, all expanded from the one table. */
#ifndef DGCN_COORDINATOR_RUN_CONFIG_H
#define DGCN_COORDINATOR_RUN_CONFIG_H

#include "comm/run_config.h"
#include "coordinator/args.h"
#include "coordinator/rundir.h"
#include "coordinator/train_types.h"

#include <stddef.h>

/* Writes c as the object "run_config" of j, one member per row: integers as integers (seeds over
 * the whole uint64 range), reals in the shortest text that reads back as the same value. */
void dgcn_run_config_json_write(dgcn_json *j, const dgcn_ctl_config *c);

/* Reads the "run_config" object of a config.json text (what dgcn_run_config_json_write wrote) into
 * *c. DGCN_EINVAL naming path and the first row missing or malformed. */
int dgcn_run_config_json_read(const char *text, const char *path, dgcn_ctl_config *c);

/* DGCN_OK when now has every KEEP row's value of was (path: where was came from); else
 * DGCN_EINVAL naming the first row that changed, e.g. "--resume: lr is 0.01 in PATH, not 0.5". */
int dgcn_run_config_resume_check(const dgcn_ctl_config *was, const dgcn_ctl_config *now,
                                 const char *path);

/* Row `name`'s value in c as text ("0.01", "[1433,16,7]"), into buf of cap bytes; returns buf, or
 * NULL for a name that is no row. */
const char *dgcn_run_config_value_text(const dgcn_ctl_config *c, const char *name, char *buf,
                                       size_t cap);

enum { DGCN_RUN_CONFIG_ARGS_STUDY = 0, DGCN_RUN_CONFIG_ARGS_TRAIN = 1 };

/* The command-line options that shape a run, stored into o: the table's DGCN_RC_CLI rows (train:
 * all of them; study: the BOTH ones) and --seeds (both), --gossip-target (train). Appends them to
 * table (n rows used of cap, DGCN_ARGS_END written after them) and returns the new n. */
int dgcn_run_config_args(dgcn_train_opts *o, int which, dgcn_arg *table, int n, int cap);

#endif
