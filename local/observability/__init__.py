"""What the local stack shows of itself: its logs kept on disk, one image's trace, the metrics' totals."""
