# core: the task pool and wait queues (core/task.h) and the task-local error detail.
dgcn_add_suite(core TIMEOUT 300 LIBS dgcn_core)
