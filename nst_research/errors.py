"""User-facing errors: one readable line that names the problem and the fix."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class NSTError(Exception):
    """Base class of errors the CLI reports as one line (exit code 2), without a traceback."""

    exit_code = 2


class InputImageError(NSTError):
    """An input image is missing, unreadable or unusable."""


class ConfigError(NSTError, ValueError):
    """A configuration value is invalid (unknown layer, bad weight, ...)."""


class WeightsError(NSTError):
    """Model weights cannot be found or loaded."""


def choose(table: Mapping[str, T], name: object, key: str) -> T:
    """``table[name]``, or a one-line ConfigError naming ``key`` and the valid names.

    The one place an option is checked: a table of named options, looked up where it is used.
    """
    try:
        return table[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown {key}={name!r}; choose one of: {', '.join(table)}") from None


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr: something the user should know that does not stop a run."""
    print(f"warning: {message}", file=sys.stderr)
