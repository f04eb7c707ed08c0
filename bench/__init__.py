"""The benchmark harness (`make bench`): stage timings, peak memory and ratios of one daily
run at fixed sandbox sizes. Entry point: `python -m bench.run --size tiny|small|agency`."""
