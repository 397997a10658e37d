"""User-facing errors: one readable line that names the problem and the fix."""

from __future__ import annotations


class NSTError(Exception):
    """Base class of errors the CLI reports as one line (exit code 2), without a traceback."""

    exit_code = 2


class InputImageError(NSTError):
    """An input image is missing, unreadable or unusable."""


class ConfigError(NSTError):
    """A configuration value is invalid (unknown layer, bad weight, ...)."""


class WeightsError(NSTError):
    """Model weights cannot be found or loaded."""
