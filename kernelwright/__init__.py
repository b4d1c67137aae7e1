"""kernelwright: LLM agents that write CUDA kernels, and a sandbox that keeps their results true."""

__version__ = "0.1.0"
