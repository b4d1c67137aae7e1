"""profiler stage."""
