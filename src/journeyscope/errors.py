"""The base of every error journeyscope reports to a person instead of a traceback.

Each layer raises a subclass with a message that says where (file, line or row, column, value)
and why; the CLI and the web app turn them into a clean message and a non-zero exit or a 4xx.
"""

from __future__ import annotations


class JourneyscopeError(Exception):
    """A problem with the user's input or environment, explained in plain words."""

    exit_code = 1


class MissingDependencyError(JourneyscopeError):
    """A program or package journeyscope needs for this task is not installed (e.g. Chromium)."""

    exit_code = 3
