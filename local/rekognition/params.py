"""Request parameter checks, failing as Rekognition does with InvalidParameterException."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .errors import invalid_parameter


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def structure(container: dict, name: str, path: str = "") -> dict:
    value = container.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_parameter(f"{path}{name} must be an object")
    return value


def percent(container: dict, name: str, default: float, path: str = "") -> float:
    value = container.get(name)
    if value is None:
        return default
    if not _is_number(value) or not 0 <= value <= 100:
        raise invalid_parameter(f"{path}{name} must be a number from 0 to 100, got {value!r}")
    return float(value)


def ratio(container: dict, name: str, default: float, path: str = "") -> float:
    value = container.get(name)
    if value is None:
        return default
    if not _is_number(value) or not 0 <= value <= 1:
        raise invalid_parameter(f"{path}{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def unsigned_integer(
    container: dict, name: str, default: int | None, maximum: int | None = None, path: str = ""
) -> int | None:
    value = container.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (maximum is not None and value > maximum):
        limit = f"0 to {maximum}" if maximum is not None else "0 or more"
        raise invalid_parameter(f"{path}{name} must be an integer from {limit}, got {value!r}")
    return value


def enum_list(
    container: dict, name: str, allowed: Collection[str], max_items: int | None = None, path: str = ""
) -> list[str]:
    value = container.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or (max_items is not None and len(value) > max_items):
        limit = f" of at most {max_items} items" if max_items is not None else ""
        raise invalid_parameter(f"{path}{name} must be a list{limit}")
    for item in value:
        if item not in allowed:
            raise invalid_parameter(f"{path}{name} has unknown value {item!r}; valid: {', '.join(sorted(allowed))}")
    return list(value)


def string_list(container: dict, name: str, max_items: int, max_length: int, path: str = "") -> list[str]:
    value = container.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise invalid_parameter(f"{path}{name} must be a list of at most {max_items} strings")
    for item in value:
        if not isinstance(item, str) or len(item) > max_length:
            raise invalid_parameter(f"{path}{name} entries must be strings of at most {max_length} characters")
    return list(value)


def object_list(container: dict, name: str, max_items: int, path: str = "") -> list[dict]:
    value = container.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, dict) for v in value):
        raise invalid_parameter(f"{path}{name} must be a list of at most {max_items} objects")
    return list(value)
