"""The `oms` command line: demo, replay, benchmarks (see oms.cli)."""
