"""What several benchmarks share (not a benchmark itself: `make bench` runs bench/*.py)."""
