"""Check a JSON document against a botocore shape, recursively: member names (unknown members
are reported), required members, types, enums and the numeric and length bounds the model states.

    problems = shape_problems(document, client.meta.service_model.operation_model("DetectLabels").output_shape)
    assert problems == []

Works on the raw JSON a JSON-protocol service sends (blobs as base64 strings, timestamps as
epoch numbers), which is what must be checked: botocore's parser silently drops unknown members.
"""

from __future__ import annotations

from typing import Any


def shape_problems(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Every way `value` departs from `shape`, as human-readable strings; [] when it conforms."""
    checker = _CHECKERS.get(shape.type_name)
    if checker is None:
        return [f"{path}: no check for shape type {shape.type_name!r}"]
    return checker(value, shape, path)


def _structure(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({shape.name}), got {type(value).__name__}"]
    problems = [f"{path}: unknown member {name!r} in {shape.name}" for name in value if name not in shape.members]
    problems += [
        f"{path}: missing required member {name!r} of {shape.name}"
        for name in shape.required_members
        if name not in value
    ]
    for name, member in shape.members.items():
        if name in value:
            problems += shape_problems(value[name], member, f"{path}.{name}")
    return problems


def _list(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected a list ({shape.name}), got {type(value).__name__}"]
    problems = _bounds(len(value), shape, path, "length")
    for index, item in enumerate(value):
        problems += shape_problems(item, shape.member, f"{path}[{index}]")
    return problems


def _map(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a map ({shape.name}), got {type(value).__name__}"]
    problems = []
    for key, item in value.items():
        problems += shape_problems(key, shape.key, f"{path}<key {key!r}>")
        problems += shape_problems(item, shape.value, f"{path}[{key!r}]")
    return problems


def _string(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected a string ({shape.name}), got {type(value).__name__}"]
    problems = _bounds(len(value), shape, path, "length")
    if shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} is not one of {shape.name}'s values {shape.enum}")
    return problems


def _integer(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, int) or isinstance(value, bool):
        return [f"{path}: expected an integer ({shape.name}), got {type(value).__name__}"]
    return _bounds(value, shape, path, "value")


def _float(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return [f"{path}: expected a number ({shape.name}), got {type(value).__name__}"]
    return _bounds(value, shape, path, "value")


def _boolean(value: Any, shape: Any, path: str) -> list[str]:
    return [] if isinstance(value, bool) else [f"{path}: expected a boolean ({shape.name}), got {type(value).__name__}"]


def _blob(value: Any, shape: Any, path: str) -> list[str]:
    return (
        [] if isinstance(value, str) else [f"{path}: expected base64 text ({shape.name}), got {type(value).__name__}"]
    )


def _timestamp(value: Any, shape: Any, path: str) -> list[str]:
    ok = isinstance(value, (int, float, str)) and not isinstance(value, bool)
    return [] if ok else [f"{path}: expected a timestamp ({shape.name}), got {type(value).__name__}"]


def _bounds(measure: float, shape: Any, path: str, what: str) -> list[str]:
    problems = []
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and measure < minimum:
        problems.append(f"{path}: {what} {measure} is below {shape.name}'s minimum {minimum}")
    if maximum is not None and measure > maximum:
        problems.append(f"{path}: {what} {measure} is above {shape.name}'s maximum {maximum}")
    return problems


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
    "blob": _blob,
    "timestamp": _timestamp,
}
