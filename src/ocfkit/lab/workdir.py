"""The lab's working directory, and the program the lab runs, must be root's alone.

Root runs what lies in the working directory (the shims Pacemaker executes
as agents, the fence agent, the mount plan each namespace holder carries
out) and trusts what it reads there: ``lab.json`` names the processes to
signal, the namespaces to enter and the host files to remove at teardown.
Whoever could write to the directory, or to one above it, could rename
``ocf`` away and put their own agents in its place, or write a ``lab.json``
that makes root kill, enter or delete what they choose.  So every lab
command refuses a working directory that fails :mod:`ocfkit.trust`'s rule
(owned by root and writable by nobody else, all the way up; no link owned by
anyone else followed), and ``up`` creates a missing one itself, mode 0755,
never adopting one that someone else made first.

The interpreter and the ``ocfkit`` package are held to the same rule: the
holders, the fence agent and the shims run them as root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ocfkit
from ocfkit import trust
from ocfkit.lab.errors import LabError

#: Where ``ocfkit lab`` works by default: /var/lib is root's, so nobody else can make it first.
DEFAULT_WORKDIR = "/var/lib/ocfkit/lab"


class UnsafeWorkdir(LabError):
    """The working directory (or the program) could be changed by someone other than root."""


def _refusal(workdir: Path, reason: str) -> UnsafeWorkdir:
    return UnsafeWorkdir(
        f"refusing the lab working directory {workdir}: {reason}.  Root runs the agents "
        "installed there and trusts the lab's state file, so nobody but root may be able to "
        "change it or any directory above it.  Choose a directory that does not exist yet "
        f"(`ocfkit lab up` creates it, as it does the default {DEFAULT_WORKDIR}), or make "
        "this one and every directory above it owned by root and not writable by group or "
        "others (chown root:root, chmod go-w)"
    )


def check_workdir(workdir: Path) -> None:
    """Raise :class:`UnsafeWorkdir` unless ``workdir`` exists and is root's alone."""
    reason = trust.why_untrusted(workdir)
    if reason is not None:
        raise _refusal(workdir, reason)


def create_workdir(workdir: Path) -> None:
    """Make ``workdir`` (and missing parents) mode 0755, or check the one that exists."""
    try:
        trust.make_directories(workdir, 0o755)
    except trust.UntrustedPathError as error:
        raise _refusal(workdir, str(error)) from None


def import_root() -> str:
    """The directory ``ocfkit`` is imported from (holders and the fence agent add it)."""
    return str(Path(ocfkit.__file__).resolve().parents[1])


def check_program() -> None:
    """Raise :class:`UnsafeWorkdir` when the interpreter or ``ocfkit`` is not root's alone."""
    interpreter = os.path.realpath(sys.executable)
    reason = trust.why_untrusted_program(interpreter, [import_root()])
    if reason is not None:
        raise UnsafeWorkdir(
            f"refusing to run the lab with {reason}: the lab runs this interpreter and this "
            "code as root (namespace holders, the fence agent, the agents' shims), so nobody "
            "but root may be able to change them.  Install ocfkit into a virtual environment "
            "that only root can write, e.g. under /opt"
        )
