"""Tests of kernelwright.commands."""
