# partition: partitioners, required links, statistics, shards and their halo maps, plans on disk.
dgcn_add_suite(partition TIMEOUT 120 LIBS dgcn_graph)
