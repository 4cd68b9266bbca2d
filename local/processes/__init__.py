"""The lifetime of the processes a stack starts: they end with it (lifeline.py)."""
