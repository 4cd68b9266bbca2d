"""IAM policy documents and their evaluation, for the few condition keys this system uses.

Evaluation follows AWS's order: an explicit Deny wins, then any Allow, else the request is denied
implicitly. Conditions are evaluated for the operators and keys in `SUPPORTED_*`; a condition
outside them can never widen access: an Allow that carries one does not apply, and a Deny that
carries one does. `unsupported_conditions` lets the stack refuse such documents when it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

SUPPORTED_OPERATORS = frozenset(
    {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals"}
    | {"ArnNotLike", "Bool"}
)
# aws:SecureTransport is always "true" here: the local endpoints are plain HTTP (a named gap), and
# taking it as false would make the bucket's TLS-only Deny refuse everything.
SUPPORTED_KEYS = frozenset({"aws:securetransport", "aws:sourcearn", "aws:sourceaccount"})


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    # Resource policies only: {"Service": (...), "AWS": (...)} or {"*": ("*",)}.
    principals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str = ""


def parse(document: Mapping[str, Any]) -> tuple[Statement, ...]:
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    return tuple(_statement(s) for s in statements)


def _statement(raw: Mapping[str, Any]) -> Statement:
    principal = raw.get("Principal")
    if principal == "*":
        principals: dict[str, tuple[str, ...]] = {"*": ("*",)}
    else:
        principals = {kind: _strings(value) for kind, value in (principal or {}).items()}
    return Statement(
        effect=str(raw.get("Effect", "")),
        actions=_strings(raw.get("Action")),
        not_actions=_strings(raw.get("NotAction")),
        resources=_strings(raw.get("Resource")),
        not_resources=_strings(raw.get("NotResource")),
        principals=principals,
        conditions={
            operator: {key: _strings(values) for key, values in block.items()}
            for operator, block in (raw.get("Condition") or {}).items()
        },
        sid=str(raw.get("Sid", "")),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value).lower() if isinstance(value, bool) else str(value),)


def unsupported_conditions(statements: Iterable[Statement]) -> list[str]:
    """`Operator key` for each condition this module does not evaluate."""
    found = []
    for statement in statements:
        for operator, block in statement.conditions.items():
            for key in block:
                if not _supported(operator, key):
                    found.append(f"{operator} {key}")
    return found


def _supported(operator: str, key: str) -> bool:
    return operator.removesuffix("IfExists") in SUPPORTED_OPERATORS and key.lower() in SUPPORTED_KEYS


# --- evaluation ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    action: str  # service:Operation
    resource: str  # an ARN, or "*"
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys, lower case
    principal: tuple[str, str] | None = None  # ("Service", "sns.amazonaws.com"); None for identity policies


def decide(statements: Iterable[Statement], request: Request) -> str:
    """ "Deny" (explicit), "Allow", or "" when nothing applies (an implicit deny)."""
    allowed = False
    for statement in statements:
        if not _applies(statement, request):
            continue
        deny = statement.effect == "Deny"
        if not _conditions_hold(statement.conditions, request.context, deny):
            continue
        if deny:
            return "Deny"
        allowed = True
    return "Allow" if allowed else ""


def _applies(statement: Statement, request: Request) -> bool:
    if request.principal is not None and not _principal_matches(statement.principals, request.principal):
        return False
    if statement.actions and not any(_matches(p, request.action, True) for p in statement.actions):
        return False
    if statement.not_actions and any(_matches(p, request.action, True) for p in statement.not_actions):
        return False
    if not statement.actions and not statement.not_actions:
        return False
    if statement.resources:
        return any(_matches(p, request.resource) for p in statement.resources)
    if statement.not_resources:
        return not any(_matches(p, request.resource) for p in statement.not_resources)
    return False


def _principal_matches(principals: Mapping[str, tuple[str, ...]], principal: tuple[str, str]) -> bool:
    if "*" in principals or "*" in principals.get("AWS", ()):
        return True
    kind, name = principal
    return name in principals.get(kind, ())


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, str], deny: bool
) -> bool:
    for operator, block in conditions.items():
        for key, expected in block.items():
            if not _supported(operator, key):
                # Never let an unevaluated condition widen access.
                return deny
            if not _condition(operator, context.get(key.lower()), expected):
                return False
    return True


def _condition(operator: str, actual: str | None, expected: tuple[str, ...]) -> bool:
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    negated = "Not" in operator
    if actual is None:
        return if_exists or negated
    if operator == "Bool":
        return actual.lower() in (e.lower() for e in expected)
    like = operator.endswith("Like") or operator.startswith("Arn")
    hit = any(_matches(e, actual) if like else e == actual for e in expected)
    return not hit if negated else hit


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
