"""Where converted models are cached: the user's cache directory, never the source tree."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_CACHE_NAME = "image-recognition"


def cache_dir() -> Path:
    """`$REKOGNITION_CACHE_DIR`, else `$XDG_CACHE_HOME/image-recognition/rekognition`,
    else `~/.cache/image-recognition/rekognition`. Created on first use."""
    explicit = os.environ.get("REKOGNITION_CACHE_DIR", "").strip()
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
        path = Path(base) / PROJECT_CACHE_NAME / "rekognition"
    path.mkdir(parents=True, exist_ok=True)
    return path
