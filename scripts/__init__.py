"""Developer scripts: the local stack, the test environment chooser, the benchmark."""
