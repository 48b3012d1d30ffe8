# rundir: run directories through the dgcn program: gnuplot without a shell and its failures
# reported, signals during the plot honoured.
if(TARGET dgcn)
  dgcn_add_suite(rundir TIMEOUT 300 LIBS dgcn_core)
  add_dependencies(test_rundir dgcn)
endif()
