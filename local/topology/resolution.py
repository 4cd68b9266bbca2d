"""CloudFormation intrinsics in the model, resolved once the emulator has named every resource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.topology.model import TopologyError


# --- CloudFormation intrinsics ----------------------------------------------------------------------
@dataclass(frozen=True)
class PhysicalIds:
    """What `Ref` and `Fn::GetAtt` give for each resource once it exists, plus pseudo parameters."""

    refs: Mapping[str, str]
    attributes: Mapping[tuple[str, str], str]
    pseudo: Mapping[str, str]


def resolve(value: Any, ids: PhysicalIds) -> Any:
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _ref_value(argument, ids)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return _attribute(logical_id, attribute, ids)
        if key == "Fn::Sub":
            return _substitute(argument, ids)
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(p, ids)) for p in parts)
        if key.startswith("Fn::"):
            raise TopologyError(f"intrinsic {key} is not supported locally")
    return {k: resolve(v, ids) for k, v in value.items()}


def _ref_value(name: str, ids: PhysicalIds) -> str:
    if name in ids.pseudo:
        return ids.pseudo[name]
    if name not in ids.refs:
        raise TopologyError(f"Ref {name!r}: no such resource in the local topology")
    return ids.refs[name]


def _attribute(logical_id: str, attribute: str, ids: PhysicalIds) -> str:
    if (logical_id, attribute) not in ids.attributes:
        raise TopologyError(f"Fn::GetAtt {logical_id}.{attribute}: not available locally")
    return ids.attributes[(logical_id, attribute)]


def _substitute(argument: Any, ids: PhysicalIds) -> str:
    template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(resolve(variables[name], ids))
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _attribute(logical_id, attribute, ids)
        return _ref_value(name, ids)

    return re.sub(r"\$\{([^}!]+)\}", replace, template)
