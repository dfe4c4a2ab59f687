"""Benchmarks: `make bench` (python -m bench). Numbers are reported as ratios to the limits of the parts,
measured in the same run, because this machine is noisy."""
