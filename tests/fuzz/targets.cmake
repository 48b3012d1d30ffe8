# tests/fuzz/targets.cmake: the fuzz targets and the libraries each links (read by
# tests/fuzz/CMakeLists.txt, which builds them, and by tests/fuzz_links.cmake, which checks them).
# Each target links only the library of the decoder it fuzzes and what that library needs: never
# dgcn_nn (nn/kernels.c, the slowest file to compile under the fuzzer's instrumentation), nor the
# agent or coordinator libraries that pull it in.
set(DGCN_FUZZ_TARGETS dataset shard control config neighbor topology)
set(DGCN_FUZZ_LIBS_dataset dgcn_graph)
set(DGCN_FUZZ_LIBS_shard dgcn_graph)
set(DGCN_FUZZ_LIBS_control dgcn_comm)
set(DGCN_FUZZ_LIBS_config dgcn_run_config dgcn_comm)
set(DGCN_FUZZ_LIBS_neighbor dgcn_comm)
set(DGCN_FUZZ_LIBS_topology dgcn_topologies)
# The seed writer of the control, config and neighbor corpora (not a fuzz target).
set(DGCN_FUZZ_LIBS_seeds dgcn_run_config dgcn_comm)
# Libraries no fuzz target may link, directly or through another.
set(DGCN_FUZZ_BANNED_LIBS dgcn_nn dgcn_agent dgcn_coordinator)

# dgcn_link_closure(<out> <lib>...): the dgcn_* libraries the given ones link, transitively
# (LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES of each target), the given ones included.
function(dgcn_link_closure out)
  set(seen "")
  set(todo ${ARGN})
  while(todo)
    list(POP_FRONT todo lib)
    if(NOT lib MATCHES "^dgcn_" OR lib IN_LIST seen OR NOT TARGET ${lib})
      continue()
    endif()
    list(APPEND seen ${lib})
    foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(deps ${lib} ${prop})
      if(deps)
        list(APPEND todo ${deps})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# dgcn_fuzz_banned_links(<out>): "fuzz_<t>: <lib>" for every banned library a target links.
function(dgcn_fuzz_banned_links out)
  set(bad "")
  foreach(t ${DGCN_FUZZ_TARGETS} seeds)
    dgcn_link_closure(closure ${DGCN_FUZZ_LIBS_${t}})
    foreach(lib ${DGCN_FUZZ_BANNED_LIBS})
      if(lib IN_LIST closure)
        list(APPEND bad "fuzz_${t}: ${lib}")
      endif()
    endforeach()
  endforeach()
  set(${out} ${bad} PARENT_SCOPE)
endfunction()
