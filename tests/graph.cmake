# graph: CSR, dataset loader and writer (with a corpus of broken folders), CSBM generator, and the
# generate command (compiled in directly with its option parser and data source, so the suite needs
# only dgcn_graph).
dgcn_add_suite(graph TIMEOUT 600 LIBS dgcn_graph
               SOURCES ${CMAKE_SOURCE_DIR}/coordinator/cmd_generate.c
                       ${CMAKE_SOURCE_DIR}/coordinator/args.c
                       ${CMAKE_SOURCE_DIR}/coordinator/data_source.c)
