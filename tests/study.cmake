# study: dgcn study (topologies x link-removal fractions through `dgcn train`, table and plots).
dgcn_add_suite(study TIMEOUT 240 LIBS dgcn_coordinator)
add_dependencies(test_study dgcn)
