"""profiler stage: what limits a judged candidate, condensed for the Judge.

nvml (GPU identity), ncu (+ ncu_metrics, ncu_csv: Nsight Compute runner and parser), power (NVML
sampler observer), cubin + static (registers/shared/local/constant from the cubin), occupancy,
gpu_specs (+ gpu_specs.yaml), roofline, findings + digest (the Judge's text), profile (Profiler,
interfaces.ProfilerFn), driver + child (the profiled child process; candidate code runs only there).
"""
