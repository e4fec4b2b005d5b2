"""Measurements beside training: throughput and memory, the architecture comparison, spread over seeds.

Run from the repository root as modules, e.g. `python -m bench.seeds RUN_DIR RUN_DIR`.
"""
