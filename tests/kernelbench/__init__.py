"""Tests of kernelwright.kernelbench."""
