"""Text detection (OCR) into Rekognition's LINE and WORD detections.

Two engines: the Tesseract binary (Debian package `tesseract-ocr`), used when it is installed since
it reads Latin text exactly and keeps the spaces between words; otherwise RapidOCR
(`rapidocr-onnxruntime`, PP-OCRv4 models inside the wheel), which needs nothing outside PyPI but
was trained mostly on Chinese and sometimes runs Latin words together.
Set REKOGNITION_OCR=tesseract or REKOGNITION_OCR=rapidocr to force one.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from .geometry import Box, box_corners

TEXT_MODEL_VERSION = "3.0"
MAX_WORDS = 100  # Rekognition's DetectText returns at most 100 words
# Tesseract reports every box it looked at; below this its "words" are mostly texture.
_MIN_TESSERACT_CONFIDENCE = 40.0
# Tesseract reads best with glyphs 20+ px tall: small images are upscaled first.
_UPSCALE_BELOW_SIDE = 800
_TESSERACT_TIMEOUT_SECONDS = 60


class OcrUnavailableError(RuntimeError):
    """Neither OCR engine can run here."""


@dataclass
class Word:
    text: str
    confidence: float  # 0-100
    box: Box
    polygon: list[tuple[float, float]]


@dataclass
class Line:
    text: str
    confidence: float
    box: Box
    polygon: list[tuple[float, float]]
    words: list[Word] = field(default_factory=list)


def make_text_reader():
    preference = os.environ.get("REKOGNITION_OCR", "").strip().lower()
    if preference not in ("", "tesseract", "rapidocr"):
        raise OcrUnavailableError(f"REKOGNITION_OCR must be tesseract or rapidocr, not {preference!r}")
    if preference == "tesseract" or (not preference and shutil.which("tesseract")):
        return TesseractReader()
    return RapidOcrReader()


class TesseractReader:
    engine = "tesseract"

    def __init__(self) -> None:
        self._binary = shutil.which("tesseract")
        if not self._binary:
            raise OcrUnavailableError("the tesseract binary is not installed (apt-get install tesseract-ocr)")
        self._environment = dict(os.environ)
        # Tesseract's OpenMP threads cost more than they save on images this size.
        self._environment["OMP_THREAD_LIMIT"] = "1"

    def read(self, image) -> list[Line]:
        from PIL import Image

        grey = image.convert("L")
        scale = 2 if max(grey.size) < _UPSCALE_BELOW_SIDE else 1
        if scale > 1:
            grey = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.LANCZOS)
        png = io.BytesIO()
        grey.save(png, format="PNG")
        completed = subprocess.run(
            [self._binary, "stdin", "stdout", "--psm", "3", "--oem", "1", "tsv"],
            input=png.getvalue(),
            capture_output=True,
            env=self._environment,
            timeout=_TESSERACT_TIMEOUT_SECONDS,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"tesseract failed: {completed.stderr.decode(errors='replace').strip()}")
        return parse_tesseract_tsv(completed.stdout.decode("utf-8", errors="replace"), scale)

    def warm_up(self) -> None:
        from PIL import Image

        self.read(Image.new("RGB", (64, 32), (255, 255, 255)))


def parse_tesseract_tsv(tsv: str, scale: float = 1.0) -> list[Line]:
    """Group Tesseract's word rows into lines by their (block, paragraph, line) numbers."""
    lines: dict[tuple[str, str, str], list[Word]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            continue
        if row.get("level") != "5" or not text or confidence < _MIN_TESSERACT_CONFIDENCE:
            continue
        box = Box(
            float(row["left"]) / scale,
            float(row["top"]) / scale,
            float(row["width"]) / scale,
            float(row["height"]) / scale,
        )
        key = (row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(Word(text, confidence, box, box_corners(box)))
    return [line_from_words(words) for words in lines.values()]


def line_from_words(words: list[Word], polygon: list[tuple[float, float]] | None = None) -> Line:
    box = words[0].box
    for word in words[1:]:
        box = box.union(word.box)
    confidence = float(np.mean([word.confidence for word in words]))
    text = " ".join(word.text for word in words)
    return Line(text, confidence, box, polygon or box_corners(box), words)


class RapidOcrReader:
    engine = "rapidocr"

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._engine = RapidOCR()

    def read(self, image) -> list[Line]:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        result, _ = self._engine(bgr, return_word_box=True)
        return [line for item in result or [] if (line := _rapidocr_line(item)) is not None]

    def warm_up(self) -> None:
        from PIL import Image

        self.read(Image.new("RGB", (64, 32), (255, 255, 255)))


def _rapidocr_line(item: list) -> Line | None:
    """One RapidOCR result: [line quadrilateral, text, score, token boxes, tokens, token scores]."""
    quad = [(float(x), float(y)) for x, y in item[0]]
    text, score = str(item[1]).strip(), float(item[2])
    if not text:
        return None
    xs, ys = [x for x, _ in quad], [y for _, y in quad]
    line_box = Box.from_corners(min(xs), min(ys), max(xs), max(ys))
    words = _rapidocr_words(item, line_box, score)
    if not words:
        return None
    line = line_from_words(words, polygon=quad)
    line.box = line_box
    return line


def _rapidocr_words(item: list, line_box: Box, line_score: float) -> list[Word]:
    """Words from the per-character boxes RapidOCR returns, split at spaces. Without them, the
    line box is divided in proportion to each word's length."""
    if len(item) >= 6 and item[3] and len(item[3]) == len(item[4]):
        words, current = [], []
        for token_box, token, token_score in zip(item[3], item[4], item[5], strict=False):
            if str(token).strip():
                current.append((token_box, str(token), float(token_score)))
            elif current:
                words.append(current)
                current = []
        if current:
            words.append(current)
        return [_word_from_tokens(tokens) for tokens in words]
    parts = str(item[1]).split()
    total = sum(len(part) for part in parts) + max(len(parts) - 1, 0)
    words, position = [], 0
    for part in parts:
        left = line_box.left + line_box.width * position / total
        right = line_box.left + line_box.width * (position + len(part)) / total
        box = Box.from_corners(left, line_box.top, right, line_box.bottom)
        words.append(Word(part, 100.0 * line_score, box, box_corners(box)))
        position += len(part) + 1
    return words


def _word_from_tokens(tokens: list) -> Word:
    points = [(float(x), float(y)) for token_box, _, _ in tokens for x, y in token_box]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    box = Box.from_corners(min(xs), min(ys), max(xs), max(ys))
    text = "".join(token for _, token, _ in tokens)
    confidence = 100.0 * float(np.mean([score for _, _, score in tokens]))
    return Word(text, confidence, box, box_corners(box))
