"""The lab's two failures: something went wrong, or something did not happen in time."""

from __future__ import annotations


class LabError(Exception):
    """A lab operation failed; the message says what and, where it helps, shows node logs."""


class LabTimeout(LabError):
    """A bounded wait ran out (a cluster that did not form, a daemon that did not answer)."""
