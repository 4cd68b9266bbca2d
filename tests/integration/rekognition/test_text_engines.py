"""Both OCR engines read the sign; REKOGNITION_OCR picks one."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from local.rekognition.text import OcrUnavailableError, RapidOcrReader, TesseractReader, make_text_reader
from tests.integration.rekognition.support import FIXTURES


def _words(lines):
    return [word.text for line in lines for word in line.words]


@pytest.fixture(scope="module")
def sign():
    return Image.open(FIXTURES / "sign.png").convert("RGB")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="the tesseract binary is not installed")
def test_tesseract_reads_every_word(sign):
    lines = TesseractReader().read(sign)
    assert [line.text for line in lines] == ["STOP AT MAIN STREET", "Exit 42 open"]
    assert all(80 < word.confidence <= 100 for line in lines for word in line.words)


def test_rapidocr_reads_the_sign_without_anything_from_apt(sign):
    pytest.importorskip("rapidocr_onnxruntime", reason="install local/rekognition/requirements-nodeps.txt")
    words = _words(RapidOcrReader().read(sign))
    # Trained mostly on Chinese, it may run the narrow-spaced first words together.
    assert {"MAIN", "STREET", "Exit", "42", "open"} <= set(words)


def test_the_engine_can_be_chosen(monkeypatch):
    monkeypatch.setenv("REKOGNITION_OCR", "paper")
    with pytest.raises(OcrUnavailableError):
        make_text_reader()
    monkeypatch.setenv("REKOGNITION_OCR", "tesseract")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OcrUnavailableError, match="apt-get install tesseract-ocr"):
        make_text_reader()
