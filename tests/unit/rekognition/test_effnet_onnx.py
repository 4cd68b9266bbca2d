"""Converting the ImageNet classifier to ONNX once, into the user's cache, and what it predicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from local.rekognition import cache, effnet_onnx


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REKOGNITION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("REKOGNITION_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "image-recognition" / "rekognition"
    assert cache.cache_dir().is_dir()


def test_conversion_runs_once_then_the_cached_model_is_reused(empty_cache):
    path, converted = effnet_onnx.cached_model_path()
    assert converted and path.parent == empty_cache and path.suffix == ".onnx"
    again, converted_again = effnet_onnx.cached_model_path()
    assert (again, converted_again) == (path, False)


def test_stale_or_empty_cache_files_are_rebuilt(empty_cache):
    path, _ = effnet_onnx.cached_model_path()
    stale = empty_cache / "efficientnet-lite0-0000000000000000.onnx"
    stale.write_bytes(b"from an older converter")
    path.write_bytes(b"")
    rebuilt, converted = effnet_onnx.cached_model_path()
    assert converted and rebuilt == path and path.stat().st_size > 1_000_000
    assert not stale.exists()


def test_the_converted_model_recognizes_the_tabby_cat(empty_cache):
    from PIL import Image

    from local.rekognition.labels import ImageNetClassifier
    from local.rekognition.taxonomy import default_taxonomy

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "chelsea.jpg"
    classification = ImageNetClassifier().classify(Image.open(fixture).convert("RGB"))
    top = int(np.argmax(classification.probabilities))
    assert 281 <= top <= 285, default_taxonomy().class_names[top]  # the five domestic cat classes
    assert classification.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    heat = classification.subject_heatmap()
    assert heat.shape == (7, 7) and heat.min() == 0 and heat.max() == pytest.approx(1.0)
