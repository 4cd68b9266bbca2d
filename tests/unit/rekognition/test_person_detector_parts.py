"""The SSD pieces done outside OpenCV: cutting the graph, anchors and box decoding."""

from __future__ import annotations

import numpy as np
import pytest

from local.rekognition.people import anchor_boxes, decode
from local.rekognition.ssd_graph import prune


def node(name: str, op: str, *inputs: str, attrs: str = "") -> str:
    lines = "".join(f'  input: "{i}"\n' for i in inputs)
    return f'node {{\n  name: "{name}"\n  op: "{op}"\n{lines}{attrs}}}\n'


STRIDES = '  attr {\n    key: "strides"\n    value {\n      list {\n        i: 1\n      }\n    }\n  }\n'
GRAPH = "".join(
    [
        node("image_tensor", "Placeholder"),
        node("Preprocessor/sub", "Sub", "image_tensor"),
        node("Conv/weights", "Const"),
        node("Conv/weights/read", "Identity", "Conv/weights"),
        node("Conv/Conv2D", "Conv2D", "Preprocessor/sub", "Conv/weights/read", attrs=STRIDES),
        node("Conv/Relu6", "Relu6", "Conv/Conv2D"),
        node("Box/weights", "Const"),
        node("Box/Conv2D", "Conv2D", "Conv/Relu6", "Box/weights"),
        node("Postprocessor/Reshape", "Reshape", "Box/Conv2D"),
        node("add/y", "Const"),
        node("add", "Add", "Postprocessor/Reshape", "add/y"),
    ]
)


def test_the_graph_is_cut_to_its_convolutions_fed_by_the_image():
    pruned = prune(GRAPH)
    names = [line.split('"')[1] for line in pruned.splitlines() if line.startswith("  name:")]
    assert names == ["image_tensor", "Conv/Conv2D", "Conv/Relu6", "Box/Conv2D"]
    first_conv = pruned.split('name: "Conv/Conv2D"')[1].split("node {")[0]
    # The preprocessing is gone, the weights are named past their Identity, attributes survive.
    assert 'input: "image_tensor"' in first_conv and 'input: "Conv/weights"' in first_conv
    assert 'key: "strides"' in first_conv
    assert "Preprocessor" not in pruned and "Postprocessor" not in pruned


def test_a_graph_without_an_image_input_is_refused():
    with pytest.raises(ValueError):
        prune(node("x", "Const"))


def test_anchors_follow_the_ssdlite_layout():
    anchors = anchor_boxes([19, 10, 5, 3, 2, 1])
    assert anchors.shape == (19 * 19 * 3 + (100 + 25 + 9 + 4 + 1) * 6, 4)  # 1917, as the graph emits
    # The first cell of the lowest layer: centred at half a cell, a small square box first.
    assert anchors[0] == pytest.approx([0.5 / 19, 0.5 / 19, 0.1, 0.1])
    # The last layer has one cell covering the image; its last box is the square between its scale
    # (0.95) and the next (1.0).
    side = np.sqrt(0.95 * 1.0)
    assert anchors[-1] == pytest.approx([0.5, 0.5, side, side])


def test_a_zero_encoding_decodes_to_its_anchor():
    anchors = np.array([[0.5, 0.5, 0.2, 0.4]])
    assert decode(np.zeros((1, 4)), anchors)[0] == pytest.approx([0.4, 0.3, 0.6, 0.7])


def test_encodings_shift_and_scale_the_anchor():
    anchors = np.array([[0.5, 0.5, 0.2, 0.2]])
    top, left, bottom, right = decode(np.array([[10.0 * 0.5, 0.0, 5.0 * np.log(2.0), 0.0]]), anchors)[0]
    assert (top + bottom) / 2 == pytest.approx(0.6)  # moved down by half the anchor's height
    assert bottom - top == pytest.approx(0.4)  # twice as tall
    assert right - left == pytest.approx(0.2)
