# rundir: run directories through the dgcn program: gnuplot without a shell and its failures
# reported, signals during the plot honoured, every file 0600 and folder 0700.
if(TARGET dgcn)
  dgcn_add_suite(rundir TIMEOUT 300 LIBS dgcn_core)
  add_dependencies(test_rundir dgcn)
endif()
