/* tests/test_run_config.c: every row of comm/run_config.h through config.json, the agent's range
 * check, the resume check and the command-line options (coordinator/run_config.h), row by row, so
 * that a new row is covered by adding it. The wire (pack/unpack, the proto descriptor) is in
 * tests/test_comm.c. */
#include "agent/run.h"
#include "comm/run_config.h"
#include "coordinator/run_config.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "tests/testconfig.h"
#include "tests/testutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid train configuration, every row away from its range's edges. */
static dgcn_ctl_config s_base(void) {
    dgcn_run_config r = dgcn_run_config_defaults(1433, 7);
    r.mode = DGCN_RUN_TRAIN;
    r.model.dropout = 0.5f;
    r.consensus.kind = DGCN_CONSENSUS_GT_ADAM;
    r.consensus.step.alpha0 = 0.01;
    r.iterations = 200;
    r.eval_every = 10;
    r.init_seed = r.dropout_seed = 9007199254740993ULL;
    r.report_params = 1;
    strcpy(r.plan, "/runs/a \"quoted\" \\ dir/plan");
    dgcn_ctl_config c;
    dgcn_run_config_to_ctl(&r, &c);
    return c;
}

/* Changes row `name` of *c to another in-range value. */
#define S_POKE_INT(c, name, lo, hi) ((c)->name = (c)->name == (hi) ? (lo) : (hi))
#define S_POKE_I32 S_POKE_INT
#define S_POKE_I64 S_POKE_INT
#define S_POKE_ENUM S_POKE_INT
#define S_POKE_BOOL S_POKE_INT
#define S_POKE_U64(c, name, lo, hi) ((c)->name = UINT64_MAX - (c)->name % 7)
#define S_POKE_F32(c, name, lo, hi) ((c)->name = (c)->name * 3.0f + 0.1f)
#define S_POKE_F64(c, name, lo, hi) ((c)->name = (c)->name * 3.0 + 0.1)
#define S_POKE_DIMS(c, name, lo, hi) ((c)->name[(c)->n_##name - 1] += 5)
#define S_POKE_STR(c, name, lo, hi) strcat((c)->name, "/poked")

/* c through config.json's run_config object and back. */
static void s_json_roundtrip(const dgcn_ctl_config *c, dgcn_ctl_config *back) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "train");
    dgcn_json_num(&j, "lr", 99); /* a key outside run_config with a row's name */
    dgcn_run_config_json_write(&j, c);
    dgcn_json_end(&j);
    fclose(f);
    ck_assert_msg(dgcn_run_config_json_read(text, "config.json", back) == DGCN_OK, "%s\n%s",
                  dgcn_error_msg(), text);
    free(text);
}

/* Every row, changed alone, reads back from config.json as written, and the others with it. */
START_TEST(test_json_roundtrip) {
    char diff[1024];
    int rows = 0;
#define S_ROW(name, kind_, def, lo, hi, keep, path, cli)                                           \
    do {                                                                                           \
        dgcn_ctl_config base = s_base(), c = base, back;                                           \
        S_POKE_##kind_(&c, name, lo, hi);                                                          \
        dgcn_test_config_diff(&c, &base, diff, sizeof diff);                                       \
        ck_assert_msg(!strcmp(diff, " " #name), "poking %s changed:%s", #name, diff);              \
        s_json_roundtrip(&c, &back);                                                               \
        dgcn_test_config_diff(&back, &c, diff, sizeof diff);                                       \
        ck_assert_msg(!diff[0], "%s changed: after config.json,%s differ", #name, diff);           \
        rows++;                                                                                    \
    } while (0);
    DGCN_RUN_CONFIG_FIELDS(S_ROW)
#undef S_ROW
    ck_assert_int_eq(rows, DGCN_RUN_CONFIG_N_FIELDS);
}
END_TEST

/* A run_config that lacks a row is refused, naming it. */
START_TEST(test_json_missing_row) {
    dgcn_ctl_config back;
    const char *text = "{\"run_config\":{\"mode\":1,\"model\":0}}";
    ck_assert_int_eq(dgcn_run_config_json_read(text, "x/config.json", &back), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "x/config.json: run_config lacks dims"), "%s",
                  dgcn_error_msg());
    ck_assert_int_eq(dgcn_run_config_json_read("{\"lr\":1}", "x/config.json", &back), DGCN_EINVAL);
}
END_TEST

/* The agent's check of each row: its range's edges pass, one step outside is refused with a
 * message naming the row and the value; a NaN real, too few widths or an unterminated path too. */
static void s_refused(const dgcn_ctl_config *c, const char *want) {
    dgcn_run_config r;
    ck_assert_msg(dgcn_run_config_from_ctl(&r, c) == DGCN_EINVAL, "accepted: %s", want);
    ck_assert_msg(strstr(dgcn_error_msg(), want), "'%s' does not say '%s'", dgcn_error_msg(), want);
}

static void s_accepted(const dgcn_ctl_config *c, const char *what) {
    dgcn_run_config r;
    ck_assert_msg(dgcn_run_config_from_ctl(&r, c) == DGCN_OK, "%s refused: %s", what,
                  dgcn_error_msg());
}

#define S_RANGE_INT(c, name, lo, hi)                                                               \
    do {                                                                                           \
        char want_[128];                                                                           \
        (c).name = (lo);                                                                           \
        s_accepted(&(c), #name " at its low edge");                                                \
        (c).name = (hi);                                                                           \
        s_accepted(&(c), #name " at its high edge");                                               \
        (c).name = (lo)-1;                                                                         \
        snprintf(want_, sizeof want_, "config %s = %" PRId64 " ", #name, (int64_t)(lo)-1);         \
        s_refused(&(c), want_);                                                                    \
        (c).name = (hi) + 1;                                                                       \
        snprintf(want_, sizeof want_, "config %s = %" PRId64 " ", #name, (int64_t)(hi) + 1);       \
        s_refused(&(c), want_);                                                                    \
    } while (0)
#define S_RANGE_I32 S_RANGE_INT
#define S_RANGE_I64 S_RANGE_INT
#define S_RANGE_ENUM S_RANGE_INT
#define S_RANGE_BOOL S_RANGE_INT
#define S_RANGE_U64(c, name, lo, hi)                                                               \
    do {                                                                                           \
        (c).name = 0;                                                                              \
        s_accepted(&(c), #name " = 0");                                                            \
        (c).name = UINT64_MAX;                                                                     \
        s_accepted(&(c), #name " = 2^64 - 1");                                                     \
    } while (0)
#define S_RANGE_REAL(c, name, lo, hi, next)                                                        \
    do {                                                                                           \
        (c).name = NAN;                                                                            \
        s_refused(&(c), "config " #name " is not a number");                                       \
        if ((lo) < (hi)) {                                                                         \
            (c).name = (lo);                                                                       \
            s_accepted(&(c), #name " at its low edge");                                            \
            (c).name = (hi);                                                                       \
            s_accepted(&(c), #name " at its high edge");                                           \
            (c).name = next((lo), -INFINITY);                                                      \
            s_refused(&(c), "config " #name " = ");                                                \
            (c).name = next((hi), INFINITY);                                                       \
            s_refused(&(c), "config " #name " = ");                                                \
        }                                                                                          \
    } while (0)
#define S_RANGE_F32(c, name, lo, hi) S_RANGE_REAL(c, name, lo, hi, nextafterf)
#define S_RANGE_F64(c, name, lo, hi) S_RANGE_REAL(c, name, lo, hi, nextafter)
#define S_RANGE_DIMS(c, name, lo, hi)                                                              \
    do {                                                                                           \
        (c).n_##name = 1;                                                                          \
        s_refused(&(c), "config " #name " has 1 widths");                                          \
    } while (0)
#define S_RANGE_STR(c, name, lo, hi)                                                               \
    do {                                                                                           \
        memset((c).name, 'p', sizeof(c).name);                                                     \
        s_refused(&(c), "config " #name " path is too long");                                      \
    } while (0)

START_TEST(test_range_check) {
    int rows = 0;
#define S_ROW(name, kind_, def, lo, hi, keep, path, cli)                                           \
    do {                                                                                           \
        dgcn_ctl_config c = s_base();                                                              \
        S_RANGE_##kind_(c, name, lo, hi);                                                          \
        rows++;                                                                                    \
    } while (0);
    DGCN_RUN_CONFIG_FIELDS(S_ROW)
#undef S_ROW
    ck_assert_int_eq(rows, DGCN_RUN_CONFIG_N_FIELDS);
}
END_TEST

/* Every KEEP row, changed alone, is refused on resume with both values named; a FREE row is
 * not. */
#define S_KEEPS_KEEP 1
#define S_KEEPS_FREE 0
START_TEST(test_resume_check) {
    char a[2048], b[2048], want[4200];
    int keep_rows = 0;
#define S_ROW(name, kind_, def, lo, hi, keep, path, cli)                                           \
    do {                                                                                           \
        dgcn_ctl_config was = s_base(), now = was;                                                 \
        ck_assert_int_eq(dgcn_run_config_resume_check(&was, &now, "R/config.json"), DGCN_OK);      \
        S_POKE_##kind_(&now, name, lo, hi);                                                        \
        int rc_ = dgcn_run_config_resume_check(&was, &now, "R/config.json");                       \
        if (S_KEEPS_##keep) {                                                                      \
            snprintf(want, sizeof want, "--resume: %s is %s in R/config.json, not %s", #name,      \
                     dgcn_run_config_value_text(&was, #name, a, sizeof a),                         \
                     dgcn_run_config_value_text(&now, #name, b, sizeof b));                        \
            ck_assert_msg(rc_ == DGCN_EINVAL && strstr(dgcn_error_msg(), want),                    \
                          "%s changed: '%s', not '%s'", #name, dgcn_error_msg(), want);            \
            keep_rows++;                                                                           \
        } else                                                                                     \
            ck_assert_msg(rc_ == DGCN_OK, "%s may change on resume: %s", #name, dgcn_error_msg()); \
    } while (0);
    DGCN_RUN_CONFIG_FIELDS(S_ROW)
#undef S_ROW
    ck_assert_int_gt(keep_rows, 0);
    /* what the messages look like */
    dgcn_ctl_config c = s_base();
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "lr", a, sizeof a), "0.01");
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "dropout", a, sizeof a), "0.5");
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "dims", a, sizeof a), "[1433,16,7]");
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "optimizer", a, sizeof a),
                     "OPTIMIZER_GT_ADAM (3)");
    c.optimizer = 99;
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "optimizer", a, sizeof a), "99");
    ck_assert_str_eq(dgcn_run_config_value_text(&c, "init_seed", a, sizeof a), "9007199254740993");
    ck_assert_ptr_null(dgcn_run_config_value_text(&c, "no_such_row", a, sizeof a));
}
END_TEST

/* The options: every row with an option is in train's table, the BOTH ones in study's too with
 * the same text and range, and `dgcn train --help` and `dgcn study --help` print the same line for
 * each option they share. */
static const dgcn_arg *s_find(const dgcn_arg *t, const char *name) {
    for (; t->name; t++)
        if (!strcmp(t->name, name)) return t;
    return NULL;
}

/* The line of `dgcn CMD --help` that describes --option, without its default. */
static void s_help_line(const char *cmd, const char *option, char *line, size_t cap) {
    char shell[512], want[96];
    snprintf(shell, sizeof shell, "'%s' %s --help", DGCN_BINARY, cmd);
    snprintf(want, sizeof want, "  --%s ", option);
    FILE *p = popen(shell, "r");
    ck_assert_ptr_nonnull(p);
    line[0] = '\0';
    while (fgets(line, (int)cap, p) && strncmp(line, want, strlen(want))) line[0] = '\0';
    while (fgetc(p) != EOF) {
    }
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(line[0], "dgcn %s --help does not list --%s", cmd, option);
    char *def = strrchr(line, '[');
    if (def) *def = '\0';
}

START_TEST(test_options_shared) {
    dgcn_train_opts o;
    dgcn_train_defaults(&o);
    dgcn_arg train[96], study[96];
    int n_train = dgcn_run_config_args(&o, DGCN_RUN_CONFIG_ARGS_TRAIN, train, 0, 96);
    int n_study = dgcn_run_config_args(&o, DGCN_RUN_CONFIG_ARGS_STUDY, study, 0, 96);
    ck_assert_int_gt(n_study, 0);
    ck_assert_int_gt(n_train, n_study);
    const char *options[] = {
#define DGCN_RC_CLI(scope, option, member, kind, lo, hi, help) option,
#define DGCN_RC_NOCLI
#define S_O(name, kind, def, lo, hi, keep, path, cli) cli
        DGCN_RUN_CONFIG_FIELDS(S_O)
#undef S_O
#undef DGCN_RC_NOCLI
#undef DGCN_RC_CLI
    };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        ck_assert_msg(s_find(train, options[i]), "--%s is not train's", options[i]);
    char a[1024], b[1024];
    for (const dgcn_arg *s = study; s->name; s++) {
        const dgcn_arg *t = s_find(train, s->name);
        ck_assert_msg(t && t->dst == s->dst && !strcmp(t->help, s->help) && t->min == s->min &&
                          t->max == s->max,
                      "--%s differs between train and study", s->name);
        s_help_line("train", s->name, a, sizeof a);
        s_help_line("study", s->name, b, sizeof b);
        ck_assert_msg(!strcmp(a, b), "--help of train and study differ:\n%s\n%s", a, b);
    }
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"json_roundtrip", test_json_roundtrip, 0, 0},
        {"json_missing_row", test_json_missing_row, 0, 0},
        {"range_check", test_range_check, 0, 0},
        {"resume_check", test_resume_check, 0, 0},
        {"options_shared", test_options_shared, 0, 30},
    };
    return DGCN_TEST_SUITE("run_config", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
