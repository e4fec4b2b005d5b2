"""Measurements beside training: throughput and memory, the architecture comparison, spread over seeds, sweeps,
ensembles, test-time views, photos, corruptions, pictures that are not garments and activation-map shifts; each a
script on top of the packages (the pieces they measure with live in evaluation/), and nothing imports them.

Run from the repository root as modules, e.g. `python -m bench.seeds RUN_DIR RUN_DIR`.
"""
