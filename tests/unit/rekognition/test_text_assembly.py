"""From OCR engine output to Rekognition's LINE and WORD detections."""

from __future__ import annotations

import pytest

from local.rekognition.geometry import Box
from local.rekognition.operations import _text_detections
from local.rekognition.request_image import AnalysisImage
from local.rekognition.text import Line, Word, _rapidocr_line, line_from_words, parse_tesseract_tsv

HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def tsv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_tesseract_words_are_grouped_into_lines():
    lines = parse_tesseract_tsv(
        tsv(
            "1\t1\t0\t0\t0\t0\t0\t0\t640\t240\t-1\t",
            "4\t1\t1\t1\t1\t0\t33\t38\t501\t31\t-1\t",
            "5\t1\t1\t1\t1\t1\t33\t38\t115\t30\t96.1\tSTOP",
            "5\t1\t1\t1\t1\t2\t163\t39\t55\t29\t95.0\tAT",
            "5\t1\t1\t1\t2\t1\t34\t108\t81\t30\t94.0\tExit",
            "5\t1\t1\t1\t2\t2\t132\t108\t50\t30\t12.0\t~~",
            "5\t1\t1\t1\t2\t3\t200\t108\t50\t30\t90.0\t ",
        )
    )
    assert [line.text for line in lines] == ["STOP AT", "Exit"]
    assert lines[0].box == Box(33, 38, 185, 30)
    assert lines[0].confidence == pytest.approx(95.55)
    assert [word.text for word in lines[0].words] == ["STOP", "AT"]


def test_tesseract_coordinates_are_scaled_back_from_the_upscaled_image():
    (line,) = parse_tesseract_tsv(tsv("5\t1\t1\t1\t1\t1\t100\t40\t60\t20\t90\tHi"), scale=2)
    assert line.words[0].box == Box(50, 20, 30, 10)


def test_rapidocr_character_boxes_become_words():
    item = [
        [[10, 10], [110, 10], [110, 30], [10, 30]],
        "AB CD",
        0.9,
        [
            [[10, 10], [20, 10], [20, 30], [10, 30]],
            [[20, 10], [30, 10], [30, 30], [20, 30]],
            [[30, 10], [40, 10], [40, 30], [30, 30]],
            [[60, 10], [70, 10], [70, 30], [60, 30]],
            [[70, 10], [80, 10], [80, 30], [70, 30]],
        ],
        ["A", "B", " ", "C", "D"],
        [0.9, 0.8, 0.5, 1.0, 1.0],
    ]
    line = _rapidocr_line(item)
    assert [(word.text, word.box) for word in line.words] == [("AB", Box(10, 10, 20, 20)), ("CD", Box(60, 10, 20, 20))]
    assert line.words[0].confidence == pytest.approx(85)
    assert line.box == Box(10, 10, 100, 20) and line.text == "AB CD"


def test_without_character_boxes_rapidocr_lines_are_split_by_length():
    line = _rapidocr_line([[[0, 0], [100, 0], [100, 10], [0, 10]], "abcd efgh", 0.5])
    assert [(w.text, round(w.box.left), round(w.box.right)) for w in line.words] == [("abcd", 0, 44), ("efgh", 56, 100)]


def test_lines_come_first_then_words_naming_their_line():
    image = AnalysisImage(rgb=type("FakeImage", (), {"width": 100, "height": 50})(), source_format="PNG")

    def word(text, left):
        box = Box(left, 10, 10, 10)
        return Word(text, 90.0, box, [(box.left, box.top)] * 4)

    lines: list[Line] = [line_from_words([word("a", 0), word("b", 20)]), line_from_words([word("c", 40)])]
    detections = _text_detections(lines, image)
    assert [(d["Type"], d["Id"], d.get("ParentId"), d["DetectedText"]) for d in detections] == [
        ("LINE", 0, None, "a b"),
        ("LINE", 1, None, "c"),
        ("WORD", 2, 0, "a"),
        ("WORD", 3, 0, "b"),
        ("WORD", 4, 1, "c"),
    ]
    assert detections[2]["Geometry"]["BoundingBox"] == {"Width": 0.1, "Height": 0.2, "Left": 0.0, "Top": 0.2}
