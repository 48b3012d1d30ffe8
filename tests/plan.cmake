# plan: the run plan (coordinator/plan.h) with the topology grammar it parses (topologies/spec.h),
# and the coordinator's observations (coordinator/observe.h): consensus error, curves.
dgcn_add_suite(plan TIMEOUT 120 LIBS dgcn_coordinator)
