"""Interop tests: real third-party clients against the simulator."""
