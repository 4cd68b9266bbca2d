"""Reading legacy PyTorch checkpoints without torch: written here by hand in the same format."""

from __future__ import annotations

import collections
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from local.rekognition.torch_legacy import LEGACY_MAGIC_NUMBER, LegacyCheckpointError, load_state_dict


class _StorageRef:
    def __init__(self, key: str, data: np.ndarray) -> None:
        self.key, self.data = key, data


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to name the same globals torch would."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    class LongStorage:
        pass

    def _rebuild_tensor_v2(*_args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__ = LongStorage.__module__ = "torch"
    FloatStorage.__qualname__, LongStorage.__qualname__ = "FloatStorage", "LongStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, torch.LongStorage, torch._utils = FloatStorage, LongStorage, utils
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Tensor:
    def __init__(self, storage: _StorageRef, offset: int, shape: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict())


def write_checkpoint(path, tensors: dict[str, _Tensor], storages: list[_StorageRef], magic=LEGACY_MAGIC_NUMBER):
    torch = sys.modules["torch"]

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _StorageRef):
                kind = torch.LongStorage if obj.data.dtype == np.int64 else torch.FloatStorage
                return ("storage", kind, obj.key, "cpu", obj.data.size, None)
            return None

    with open(path, "wb") as file:
        pickle.dump(magic, file, protocol=2)
        pickle.dump(1001, file, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, file, protocol=2)
        Writer(file, protocol=2).dump(collections.OrderedDict(tensors))
        pickle.dump([storage.key for storage in storages], file, protocol=2)
        for storage in storages:
            file.write(struct.pack("<q", storage.data.size))
            file.write(storage.data.tobytes())


def test_tensors_come_back_with_their_shapes_offsets_and_strides(tmp_path, fake_torch):
    shared = _StorageRef("1", np.arange(12, dtype=np.float32))
    counter = _StorageRef("2", np.array([7], dtype=np.int64))
    path = tmp_path / "model.pth"
    write_checkpoint(
        path,
        {
            "matrix": _Tensor(shared, 0, (3, 4), (4, 1)),
            "transposed": _Tensor(shared, 0, (4, 3), (1, 4)),  # a non-contiguous view, as in converted weights
            "tail": _Tensor(shared, 8, (4,), (1,)),
            "count": _Tensor(counter, 0, (), ()),
        },
        [shared, counter],
    )
    weights = load_state_dict(path)
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(weights["matrix"], expected)
    np.testing.assert_array_equal(weights["transposed"], expected.T)
    np.testing.assert_array_equal(weights["tail"], [8, 9, 10, 11])
    assert weights["count"].dtype == np.int64 and int(weights["count"]) == 7
    assert weights["transposed"].flags.c_contiguous


def test_a_file_that_is_not_a_legacy_checkpoint_is_refused(tmp_path, fake_torch):
    path = tmp_path / "other.pth"
    write_checkpoint(path, {}, [], magic=12345)
    with pytest.raises(LegacyCheckpointError):
        load_state_dict(path)


def test_a_checkpoint_naming_other_globals_cannot_run_code(tmp_path, fake_torch):
    class Evil:
        def __reduce__(self):
            import os

            return os.system, ("echo unreachable",)

    path = tmp_path / "evil.pth"
    with open(path, "wb") as file:
        pickle.dump(LEGACY_MAGIC_NUMBER, file, protocol=2)
        pickle.dump(1001, file, protocol=2)
        pickle.dump({}, file, protocol=2)
        pickle.dump({"weight": Evil()}, file, protocol=2)
    with pytest.raises(LegacyCheckpointError, match="not allowed"):
        load_state_dict(path)


def test_a_view_reaching_outside_its_storage_is_refused(tmp_path, fake_torch):
    storage = _StorageRef("1", np.arange(4, dtype=np.float32))
    path = tmp_path / "bad.pth"
    write_checkpoint(path, {"too_long": _Tensor(storage, 2, (4,), (1,))}, [storage])
    with pytest.raises(LegacyCheckpointError, match="outside storage"):
        load_state_dict(path)


def test_a_truncated_storage_is_refused(tmp_path, fake_torch):
    storage = _StorageRef("1", np.arange(8, dtype=np.float32))
    path = tmp_path / "short.pth"
    write_checkpoint(path, {"w": _Tensor(storage, 0, (8,), (1,))}, [storage])
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(LegacyCheckpointError, match="truncated"):
        load_state_dict(path)


def test_the_shipped_efficientnet_checkpoint_reads_completely():
    from local.rekognition.effnet_onnx import checkpoint_path

    weights = load_state_dict(checkpoint_path())
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(w).all() for w in weights.values())
