"""``ganesha-grace``: whether a node's ganesha.nfsd is in NFS grace, as its watcher publishes it.

D-Bus reaches only the ganesha.nfsd of the node it runs on, so what
``ganesha-agents status`` says of another node's grace can only come from
what that node publishes.  ganesha_mon's watcher, which already wakes about
once a second while the daemon runs, asks ``get_grace`` at most every
:data:`POLL_INTERVAL` seconds and keeps this transient node attribute:

- set to the epoch second (wall clock, so another node can read it) at
  which this watcher first saw the server in grace;
- deleted when the server is out of grace, when the daemon is gone, and by
  ganesha_mon's stop (which kills the watcher).

It is written only when that changes, so a node out of grace costs no
attribute write at all.  Nothing in the cluster's configuration refers to
it: it is for people and monitoring, and may lag the server by up to the
poll interval (plus the time a write takes to reach the other nodes).
"""

from __future__ import annotations

ATTRIBUTE = "ganesha-grace"
POLL_INTERVAL = 2.0
"""Seconds between two ``get_grace`` calls of the watcher while the daemon runs."""
#: More digits than any epoch second until the year 33658.
_MAX_DIGITS = 12


def value_for(since: float) -> str:
    """The attribute's value for a grace first seen at ``since`` (epoch seconds)."""
    return str(max(0, int(since)))


def since_of(value: str | None) -> int | None:
    """The epoch second a published value names, None when it names none (unset, empty, junk)."""
    if value is None or not value.isdecimal() or not value.isascii() or len(value) > _MAX_DIGITS:
        return None
    return int(value)
