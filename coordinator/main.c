/* coordinator/main.c: the dgcn program: dispatch to a subcommand. */
#include "coordinator/commands.h"

#include <stdio.h>
#include <string.h>

static const dgcn_command s_commands[] = {
    {"generate", dgcn_cmd_generate, "write a generated graph (contextual SBM) as a dataset folder"},
    {"baseline", dgcn_cmd_baseline, "train the centralized GCN or MLP over several seeds"},
    {"topology", dgcn_cmd_topology,
     "generate, analyze or design communication graphs between agents"},
    {"train", dgcn_cmd_train,
     "train a GCN fully distributed over M agents and compare with the centralized one"},
    {"predict", dgcn_cmd_predict,
     "a saved model's predictions and test accuracy on a dataset's full graph"},
    {"verify", dgcn_cmd_verify,
     "one distributed forward and backward pass checked against the centralized one"},
    {"agent", dgcn_cmd_agent,
     "run one agent process of a distributed run (started by the coordinator)"},
    {"partition", dgcn_cmd_partition,
     "split a dataset among agents and write one shard file per agent"},
    {"study", dgcn_cmd_study,
     "train over many topologies and link-removal fractions and compare them in one table"},
    {"traffic", dgcn_cmd_traffic,
     "graph-signal regression on a sensor graph: graph filters of order K, centralized and over "
     "agents"},
};
static const int s_n_commands = (int)(sizeof s_commands / sizeof s_commands[0]);

static void s_usage(FILE *f) {
    fprintf(f, "usage: dgcn <command> [options]   (dgcn <command> --help for its options)\n\n"
               "Fully distributed training of graph convolutional networks.\n\ncommands:\n");
    for (int i = 0; i < s_n_commands; i++)
        fprintf(f, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dgcn 0.1.0\n");
        return 0;
    }
    for (int i = 0; i < s_n_commands; i++)
        if (!strcmp(argv[1], s_commands[i].name)) return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dgcn: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
