# run_config: the run configuration's schema (comm/run_config.h) through config.json, the agent's
# range checks, the resume check and the options train and study share.
dgcn_add_suite(run_config TIMEOUT 60 LIBS dgcn_coordinator)
