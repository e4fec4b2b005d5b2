"""The figures and the one-page report of a run (the PNGs written here are outputs, not tracked)."""
