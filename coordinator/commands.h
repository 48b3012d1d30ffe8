/* coordinator/commands.h: the subcommands of the dgcn program.
 *
 * Each subcommand is int dgcn_cmd_<name>(int argc, char **argv) in coordinator/cmd_<name>.c:
 * argv[0] is the subcommand's name, --help prints its usage to stdout and returns 0, and the return
 * value is the process exit status (0 success, 1 failure, 2 usage error). */
#ifndef DGCN_COORDINATOR_COMMANDS_H
#define DGCN_COORDINATOR_COMMANDS_H

typedef struct dgcn_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for dgcn --help */
} dgcn_command;

int dgcn_cmd_generate(int argc, char **argv);
int dgcn_cmd_baseline(int argc, char **argv);
int dgcn_cmd_topology(int argc, char **argv);
int dgcn_cmd_agent(int argc, char **argv);
int dgcn_cmd_verify(int argc, char **argv);
int dgcn_cmd_train(int argc, char **argv);
int dgcn_cmd_partition(int argc, char **argv);
int dgcn_cmd_study(int argc, char **argv);
int dgcn_cmd_traffic(int argc, char **argv);
int dgcn_cmd_predict(int argc, char **argv);

#endif
