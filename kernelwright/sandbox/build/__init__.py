"""Turning candidate source into cubins: NVRTC/nvcc, the cache, load_inline extraction."""
