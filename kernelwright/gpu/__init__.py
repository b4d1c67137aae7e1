"""Hardware facts below the stages: NVML, the GPU spec table, the cubin reader, occupancy."""
