"""The commands behind `python -m local <verb>` and the make targets."""
