"""One root exception for everything hipscope refuses, with a clear one-line message."""

from __future__ import annotations


class HipscopeError(Exception):
    """Root of every error hipscope raises on purpose (bad input, bad files, lost devices)."""


class RecordingError(HipscopeError):
    """A recording file that cannot be read or written as hipscope format v1."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DecodeError(HipscopeError):
    """A packet that does not match its sensor profile's layout."""


class ProfileError(HipscopeError):
    """A sensor profile (firmware_configs/*.toml) that is missing or malformed."""


class KitError(HipscopeError):
    """A kit file that is missing, malformed or names unknown placements or profiles."""


class LinkError(HipscopeError):
    """A Bluetooth LE device that could not be found, connected or started."""
