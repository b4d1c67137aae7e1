"""profiler stage: what limits a judged candidate, condensed for the Judge.

profile (Profiler, interfaces.ProfilerFn; ProfileParts -> Profile), observers (the measurement
lifecycle and its observers: Nsight Compute, NVML power), ncu (+ ncu_metrics, ncu_csv: runner and
parser), power (NVML sampler and its condensed reading), static (registers/shared/local from the
cubin, occupancy; also the `analyze` command's report), roofline, findings + digest (the Judge's
text), driver + driver_io + child (the profiled child process; candidate code runs only there).
NVML access, the GPU spec table, the cubin reader and the occupancy calculator live in kernelwright.gpu.
"""
