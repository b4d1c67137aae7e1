"""The static guard: AST and CUDA-text rules, then the compile, as one static verdict."""
