"""Clean the user-supplied `name` of an image.

The name is metadata only: storage keys are built from a generated id, never from it. It is echoed
in API responses and webhooks, so it must be printable, bounded and free of path noise. Rules, in order:

1. None -> "image". Anything but a string -> ``InvalidRequest``.
2. Refused with ``InvalidRequest``, anywhere in the name (a trailing newline too): control
   characters (NUL, tab, newline, DEL, C1), line and paragraph separators, unpaired surrogates,
   and the bidirectional override/embedding/isolate controls that can make "photo<RLO>gpj.exe"
   display as "photoexe.jpg". Zero-width joiners stay allowed: emoji sequences and several scripts
   need them.
3. Unicode is normalized to NFC (so "é" typed two ways compares equal) and kept: non-ASCII names are legitimate.
4. Refused with ``InvalidRequest``: a name longer than `max_length` characters, measured on the
   name as given (after NFC and trimming), before any directory part is dropped.
5. Any directory part is dropped, for "/" and "\\" alike: "../../etc/passwd" -> "passwd",
   "C:\\photos\\cat.jpg" -> "cat.jpg".
6. Surrounding whitespace is trimmed; a result that is empty or only dots ("." or "..") -> "image".
"""

from __future__ import annotations

import re
import unicodedata

from lib.domain.errors import InvalidRequest

DEFAULT_NAME = "image"

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_DIRECTORY_SEPARATORS = re.compile(r"[/\\]")


def clean_name(raw: str | None, *, max_length: int = 200) -> str:
    """The name to store and echo for `raw`. Raises InvalidRequest for names that cannot be cleaned safely."""
    if raw is None:
        return DEFAULT_NAME
    if not isinstance(raw, str):
        raise InvalidRequest("name must be a string.")
    if any(_is_refused(character) for character in raw):  # before trimming: a trailing newline is refused too
        raise InvalidRequest("name must not contain control characters (such as NUL, tab, newline or bidi overrides).")
    name = unicodedata.normalize("NFC", raw).strip()
    if len(name) > max_length:
        raise InvalidRequest(f"name must be at most {max_length} characters long.")
    name = _DIRECTORY_SEPARATORS.split(name)[-1].strip()
    if not name.strip("."):
        return DEFAULT_NAME
    return name


def _is_refused(character: str) -> bool:
    return character in _BIDI_CONTROLS or unicodedata.category(character) in _REFUSED_CATEGORIES
