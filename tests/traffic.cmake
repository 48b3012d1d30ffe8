# traffic: the .npz / CSV readers (on files the tests write, and one np.savez archive held as bytes),
# the traffic generator, the samples, and the traffic experiment command on a small sensor graph.
dgcn_add_suite(traffic TIMEOUT 300 LIBS dgcn_coordinator)
