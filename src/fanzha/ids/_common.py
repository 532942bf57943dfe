"""What every identifier parser shares: the typed error and input clean-up."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from fanzha.errors import FanzhaError


class IdError(FanzhaError, ValueError):
    """An identifier that is not valid; `code` says which rule it broke, the message says how."""

    code = "invalid"

    def __init__(self, message: str):
        super().__init__(message)


class InvalidLength(IdError):
    code = "length"


class InvalidFormat(IdError):
    code = "format"


class InvalidChecksum(IdError):
    code = "checksum"


class InvalidDate(IdError):
    code = "date"


class InvalidRegion(IdError):
    code = "region"


class InvalidPrefix(IdError):
    code = "prefix"


_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_.·・()（）/]+")


def clean(value: str) -> str:
    """NFKC-fold (full-width digits and letters become ASCII), strip separators, upper-case."""
    if not isinstance(value, str):
        raise InvalidFormat(f"expected text, got {type(value).__name__}")
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value).strip()).upper()


def shown(value: object, limit: int = 40) -> str:
    """A short, safe rendering of bad input for an error message."""
    s = repr(value)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def validity_check(parse: Callable[..., object]) -> Callable[..., bool]:
    """`is_valid` for a parser: True where `parse` returns, False where it raises an IdError."""

    def is_valid(value: str, *args: object) -> bool:
        try:
            parse(value, *args)
        except IdError:
            return False
        return True

    is_valid.__doc__ = f"True if {parse.__module__}.parse accepts the value."
    return is_valid
