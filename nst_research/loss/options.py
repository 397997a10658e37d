"""Checks of a loss term's options: each bad value is one :class:`ConfigError` line naming its key."""

from __future__ import annotations

import math

from nst_research.errors import ConfigError


def _number(value: object, key: str) -> float:
    if isinstance(value, bool | str):  # float(True) == 1.0, float("1") == 1.0: typos, not numbers
        raise ConfigError(f"{key}={value!r} is not a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{key}={value!r} is not a number") from None


def positive(value: float, key: str) -> float:
    """``value`` as a finite float > 0, or a one-line ConfigError naming ``key``."""
    v = _number(value, key)
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(f"{key}={value!r} must be a finite number > 0")
    return v


def nonnegative(value: float, key: str, note: str = "") -> float:
    """``value`` as a finite float >= 0 (a weight: 0 is off), or a one-line ConfigError."""
    v = _number(value, key)
    if not (math.isfinite(v) and v >= 0):
        raise ConfigError(f"{key}={value!r} must be a finite number >= 0{note}")
    return v


def integer(value: object, key: str, minimum: int = 1, null: bool = False) -> int:
    """``value`` as an int >= ``minimum``, or a one-line ConfigError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = " or null" if null else ""
        raise ConfigError(f"{key}={value!r} must be an integer >= {minimum}{allowed}")
    return value


def optional_integer(value: object, key: str, minimum: int = 1) -> int | None:
    """``None``, or ``value`` as an int >= ``minimum`` (a one-line ConfigError otherwise)."""
    return None if value is None else integer(value, key, minimum, null=True)
