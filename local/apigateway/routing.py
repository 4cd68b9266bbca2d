"""API Gateway HTTP API routing: which route a method and path select.

As on the managed service, the most specific route wins: a literal segment beats a `{param}`,
which beats a greedy `{proxy+}`; then a named method beats ANY. No match at all, including a known
path with another method, is the gateway's 404.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST", ... or "ANY"
    path: str  # "/", "/images", "/images/{id}", "/files/{proxy+}"
    function_name: str
    authorizer: str | None = None  # the name of one of the gateway's authorizers

    @property
    def route_key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: Mapping[str, str]


_PARAMETER = re.compile(r"^\{([A-Za-z0-9_.\-]+)(\+?)\}$")
_LITERAL, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)

    @classmethod
    def compile(cls, route: Route) -> _CompiledRoute:
        if not route.path.startswith("/"):
            raise ValueError(f"route path must start with '/': {route.path!r}")
        parts = route.path.split("/")[1:] if route.path != "/" else []
        segments: list[tuple[int, str]] = []
        for index, part in enumerate(parts):
            match = _PARAMETER.match(part)
            if match is None:
                segments.append((_LITERAL, part))
            elif match.group(2):
                if index != len(parts) - 1:
                    raise ValueError(f"a greedy path variable must be last: {route.path!r}")
                segments.append((_GREEDY, match.group(1)))
            else:
                segments.append((_PARAM, match.group(1)))
        return cls(route, tuple(segments))

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        if self.route.method.upper() not in ("ANY", method):
            return None
        parameters: dict[str, str] = {}
        for index, (kind, text) in enumerate(self.segments):
            if kind == _GREEDY:
                rest = segments[index:]
                if not rest or not any(rest):
                    return None
                parameters[text] = "/".join(rest)
                return parameters
            if index >= len(segments):
                return None
            if kind == _LITERAL:
                if segments[index] != text:
                    return None
            elif not segments[index]:
                return None
            else:
                parameters[text] = segments[index]
        return parameters if len(segments) == len(self.segments) else None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        # Smaller sorts first: literal segments beat variables, variables beat greedy ones,
        # then a named method beats ANY.
        return tuple(kind for kind, _ in self.segments), int(self.route.method.upper() == "ANY")


class Router:
    def __init__(self, routes: Sequence[Route]):
        compiled = [_CompiledRoute.compile(route) for route in routes]
        keys = [entry.route.route_key for entry in compiled]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise ValueError(f"duplicate routes: {sorted(duplicates)}")
        self._routes = sorted(compiled, key=_CompiledRoute.specificity)

    def match(self, method: str, path: str) -> RouteMatch | None:
        segments = [unquote(part) for part in path.split("/")[1:]] if path != "/" else []
        for entry in self._routes:
            parameters = entry.match(method, segments)
            if parameters is not None:
                return RouteMatch(entry.route, parameters)
        return None
