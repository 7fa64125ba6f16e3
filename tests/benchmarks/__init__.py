"""Benchmarks of the running services: tools that print figures, not tests, kept out of the images."""
