"""Errors meant for people: what was wrong, what was expected, what to do.

`UsageError` (bad names, bad arguments, bad files) makes the CLI print one line and
exit 2; any other `RoboMatrixError` prints one line and exits 1. Neither shows a
traceback.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class RoboMatrixError(Exception):
    """An error with a message written for the person running the command (exit 1)."""

    exit_code = 1


class UsageError(RoboMatrixError):
    """Bad input from the user: an unknown name, a malformed file, a wrong type (exit 2)."""

    exit_code = 2


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The closest valid name to `name`, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UsageError:
    """`Unknown scene 'ofice'. Did you mean 'office'? Valid: office, kitchen.`"""
    valid = sorted(str(v) for v in valid)
    hint = closest(name, valid)
    did_you_mean = f" Did you mean '{hint}'?" if hint else ""
    return UsageError(f"Unknown {kind} '{name}'.{did_you_mean} Valid: {', '.join(valid) or '(none)'}.")
