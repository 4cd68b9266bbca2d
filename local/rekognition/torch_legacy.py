"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format, without torch.

The legacy file is a run of pickles: a magic number, a protocol version, system info, the state
dict itself (tensors refer to storages by persistent id), the list of storage keys in file order,
and then each storage's raw bytes prefixed by its element count. Only the handful of globals a
state dict needs are allowed while unpickling, so a crafted file cannot run code.
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class LegacyCheckpointError(ValueError):
    """The file is not a legacy PyTorch checkpoint this reader understands."""


class _TensorRef(NamedTuple):
    storage_key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: tuple, offset: int, size: tuple, stride: tuple, *_: Any) -> _TensorRef:
    return _TensorRef(storage_key=storage[2], offset=offset, shape=tuple(size), stride=tuple(stride))


class _PlainDataUnpickler(pickle.Unpickler):
    """Numbers, strings, lists and dicts only."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed here")


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self.storage_types: dict[str, str] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> Any:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        self.storage_types[pid[2]] = pid[1]
        return pid


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the checkpoint's tensors as numpy arrays, keyed by parameter name."""
    with open(path, "rb") as file:
        try:
            if _PlainDataUnpickler(file).load() != LEGACY_MAGIC_NUMBER:
                raise LegacyCheckpointError(f"{path} is not a legacy PyTorch checkpoint")
            _PlainDataUnpickler(file).load()  # protocol version
            _PlainDataUnpickler(file).load()  # system info: endianness, type sizes
            unpickler = _StateDictUnpickler(file)
            state_dict = unpickler.load()
            storage_keys = _PlainDataUnpickler(file).load()
        except (pickle.UnpicklingError, EOFError) as error:
            raise LegacyCheckpointError(f"{path} is not a readable legacy checkpoint: {error}") from None
        storages = _read_storages(file, storage_keys, unpickler.storage_types)
    return {name: _materialize(ref, storages) for name, ref in state_dict.items()}


def _read_storages(file: BinaryIO, keys: list[str], types: dict[str, str]) -> dict[str, np.ndarray]:
    storages = {}
    for key in keys:
        (count,) = struct.unpack("<q", file.read(8))
        dtype = np.dtype(_STORAGE_DTYPES[types[key]])
        raw = file.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise LegacyCheckpointError(f"storage {key} is truncated")
        storages[key] = np.frombuffer(raw, dtype=dtype)
    return storages


def _materialize(ref: _TensorRef, storages: dict[str, np.ndarray]) -> np.ndarray:
    storage = storages[ref.storage_key]
    itemsize = storage.dtype.itemsize
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True) if n > 0)
    if ref.offset < 0 or min(ref.stride, default=0) < 0 or last >= len(storage) and all(ref.shape):
        raise LegacyCheckpointError(f"tensor view reaches outside storage {ref.storage_key}")
    # Tensors saved from converted checkpoints are often non-contiguous views; honor the strides.
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset :], shape=ref.shape, strides=[s * itemsize for s in ref.stride], writeable=False
    )
    return np.array(view, order="C")
