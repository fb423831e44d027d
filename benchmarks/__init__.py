"""Side-by-side benchmarks; ``python -m benchmarks`` (``make bench``) runs them all."""
