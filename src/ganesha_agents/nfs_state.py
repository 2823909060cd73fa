"""How ``/var/lib/nfs`` is switched onto the shared state volume and back, one safe step at a time.

GlusterFS 3.7 did ``mv /var/lib/nfs /var/lib/nfs.backup; ln -s ...``: the
``mv`` failed when the backup existed, and a stop between the two left no
``/var/lib/nfs`` at all.  Here every change is one atomic rename (or link,
or removal of a link) between three names in ``/var/lib``:

- ``nfs``: what ganesha and the other NFS daemons use;
- ``nfs.ganesha_nfsd-new``: the new link, made under this name first;
- ``nfs.ganesha_nfsd-local``: what ``nfs`` was before the switch, kept for
  stop to put back: the node's own directory, or an empty marker file when
  there was no ``/var/lib/nfs`` at all.  It is the durable record that
  ganesha_nfsd changed ``/var/lib/nfs``; it survives a reboot, the agent's
  state file (under ``HA_RSCTMP``) does not.

A symlink cannot be renamed over a directory, so the switch swaps the two
names with ``renameat2(RENAME_EXCHANGE)``: ``nfs`` is never missing.  Where
the file system cannot exchange, the directory is renamed aside first and the
link renamed into place after; between the two ``nfs`` is missing, and the
names on disk say which step comes next.

The functions below read what is on disk and answer the next step towards
their goal (or that it is reached, or why they will not go on).  They are
called again after every step, so a start or stop interrupted anywhere (the
process killed, the node crashed) leaves a state the next start or stop
recognises and completes; every state of one sequence is also a state the
other knows how to finish from, so a stop undoes a half-done start and a
start completes a half-done stop.
"""

from __future__ import annotations

PARENT = "/var/lib"
NFS = "nfs"
NEW = "nfs.ganesha_nfsd-new"
LOCAL = "nfs.ganesha_nfsd-local"
NAMES = (NFS, NEW, LOCAL)
#: More steps than any sequence takes: a plan that does not settle is a bug, not a loop.
MAX_STEPS = 8

ABSENT = "absent"
DIRECTORY = "directory"
LINK = "link"
#: An empty regular file owned by root: "there was no /var/lib/nfs".
MARKER = "marker"
OTHER = "other"


class Entry:
    """What one name in ``/var/lib`` is, seen without following it."""

    __slots__ = ("detail", "kind", "target")

    def __init__(self, kind: str, target: str | None = None, detail: str = "") -> None:
        self.kind = kind
        self.target = target
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.kind, self.target, self.detail) == (
            other.kind,
            other.target,
            other.detail,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.target, self.detail))

    def __repr__(self) -> str:
        return f"Entry({self.kind!r}, {self.target!r}, {self.detail!r})"

    def __str__(self) -> str:
        if self.kind == LINK:
            return f"a link to {self.target}"
        if self.kind == ABSENT:
            return "missing"
        if self.kind == MARKER:
            return "ganesha_nfsd's marker (there was no /var/lib/nfs)"
        if self.kind == DIRECTORY:
            return "a directory"
        return self.detail or "something else"


class Step:
    """One atomic change: ``op`` on ``name`` (and ``other``), in the parent directory.

    - ``symlink name -> target`` (name must be absent);
    - ``exchange name other``: swap the two atomically;
    - ``rename name other``: never replacing ``other``;
    - ``replace name other``: a link renamed over the link ``other``;
    - ``unlink name``: remove a link (never anything else);
    - ``mark name`` / ``unmark name``: create / remove the empty marker file.
    """

    __slots__ = ("name", "op", "other", "target")

    def __init__(
        self, op: str, name: str, other: str | None = None, *, target: str | None = None
    ) -> None:
        self.op = op
        self.name = name
        self.other = other
        self.target = target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and (self.op, self.name, self.other, self.target) == (
            other.op,
            other.name,
            other.other,
            other.target,
        )

    def __hash__(self) -> int:
        return hash((self.op, self.name, self.other, self.target))

    def __repr__(self) -> str:
        return f"Step({self.op!r}, {self.name!r}, {self.other!r}, target={self.target!r})"

    def __str__(self) -> str:
        path = f"{PARENT}/{self.name}"
        other = f"{PARENT}/{self.other}" if self.other else ""
        return {
            "symlink": f"link {path} -> {self.target}",
            "exchange": f"swap {path} and {other}",
            "rename": f"rename {path} to {other}",
            "replace": f"rename the link {path} over the link {other}",
            "unlink": f"remove the link {path}",
            "mark": f"create the marker {path}",
            "unmark": f"remove the marker {path}",
        }.get(self.op, self.op)


class Refusal:
    """The state on disk is not one ganesha_nfsd made; it is left alone, for this reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Refusal({self.reason!r})"


Seen = dict[str, Entry]
Plan = Step | Refusal | None


def path(name: str) -> str:
    return f"{PARENT}/{name}"


def start_step(seen: Seen, target: str, *, exchange: bool = True) -> Plan:
    """The next step that makes ``/var/lib/nfs`` a link to ``target``; None when it is one."""
    nfs, new, local = seen[NFS], seen[NEW], seen[LOCAL]
    leftover = _leftovers(nfs, new, local)
    if leftover is not None:
        return leftover
    if new.kind == LINK and new.target != target:
        return Step("unlink", NEW)
    ours = local.kind in (DIRECTORY, MARKER)
    if nfs.kind == LINK and nfs.target == target:
        return Step("unlink", NEW) if new.kind == LINK else None
    if nfs.kind == LINK:
        if not ours:
            return Refusal(
                f"{path(NFS)} is a link to {nfs.target}, not to {target}, and ganesha_nfsd did "
                f"not make it: remove it (or point it at {target}) and start again"
            )
        return (
            Step("symlink", NEW, target=target) if new.kind == ABSENT else Step("replace", NEW, NFS)
        )
    if nfs.kind == DIRECTORY:
        if local.kind != ABSENT:
            return Refusal(
                f"{path(NFS)} is a directory and {path(LOCAL)} holds what an earlier start set "
                f"aside: ganesha_nfsd does not merge them; move one of them away and start again"
            )
        if new.kind == ABSENT:
            return Step("symlink", NEW, target=target)
        return Step("exchange", NEW, NFS) if exchange else Step("rename", NFS, LOCAL)
    if nfs.kind == ABSENT:
        if local.kind == ABSENT:
            return Step("mark", LOCAL)
        if new.kind == ABSENT:
            return Step("symlink", NEW, target=target)
        return Step("rename", NEW, NFS)
    return Refusal(f"{path(NFS)} is {nfs}: ganesha_nfsd replaces only a directory or a link")


def stop_step(seen: Seen, *, exchange: bool = True) -> Plan:
    """The next step that puts back what a start changed; None when nothing of it is left."""
    nfs, new, local = seen[NFS], seen[NEW], seen[LOCAL]
    leftover = _leftovers(nfs, new, local)
    if leftover is not None:
        return leftover
    if new.kind == LINK:
        return Step("unlink", NEW)
    if local.kind == DIRECTORY:
        if nfs.kind == LINK:
            return Step("exchange", LOCAL, NFS) if exchange else Step("unlink", NFS)
        if nfs.kind == ABSENT:
            return Step("rename", LOCAL, NFS)
        return Refusal(
            f"{path(NFS)} is {nfs} while the directory it replaced is still at {path(LOCAL)}: "
            f"ganesha_nfsd does not merge them; move {path(NFS)} away, then stop again "
            f"(or rename {path(LOCAL)} back by hand)"
        )
    if local.kind == MARKER:
        if nfs.kind == LINK:
            return Step("unlink", NFS)
        # Absent: restored.  Anything else was made after the link went: not ours.
        return Step("unmark", LOCAL)
    return None


def _leftovers(nfs: Entry, new: Entry, local: Entry) -> Plan:
    """Steps and refusals both sequences share: what an interruption left under the two names."""
    if local.kind == OTHER:
        return Refusal(
            f"{path(LOCAL)} is {local}, which ganesha_nfsd did not make: move it away first"
        )
    if new.kind not in (ABSENT, LINK, DIRECTORY):
        return Refusal(f"{path(NEW)} is {new}, which ganesha_nfsd did not make: move it away first")
    if local.kind == LINK:
        # A stop swapped the directory back and was stopped before removing the link.
        if nfs.kind == DIRECTORY and new.kind == ABSENT:
            return Step("unlink", LOCAL)
        return Refusal(
            f"{path(LOCAL)} is {local} while {path(NFS)} is {nfs}: not a state ganesha_nfsd "
            f"leaves; move {path(LOCAL)} away"
        )
    if new.kind == DIRECTORY:
        # A start swapped the directory out and was stopped before renaming it aside.
        if local.kind == ABSENT:
            return Step("rename", NEW, LOCAL)
        return Refusal(
            f"both {path(NEW)} and {path(LOCAL)} hold something set aside: "
            f"ganesha_nfsd does not choose; keep the right one as {path(LOCAL)}"
        )
    return None


def owned(seen: Seen) -> bool:
    """Whether what is on disk says ganesha_nfsd changed ``/var/lib/nfs`` (and not put it back)."""
    return seen[LOCAL].kind != ABSENT or seen[NEW].kind != ABSENT


def problem(seen: Seen, target: str) -> str | None:
    """What is wrong with a switched ``/var/lib/nfs`` (None: it leads to ``target``)."""
    nfs, new, local = seen[NFS], seen[NEW], seen[LOCAL]
    if new.kind != ABSENT or local.kind in (LINK, OTHER):
        return (
            f"an interrupted start or stop left {path(NEW)} ({new}) and {path(LOCAL)} ({local}); "
            f"a start or a stop completes it"
        )
    if nfs.kind == LINK and nfs.target == target:
        return None
    if nfs.kind == LINK:
        return f"{path(NFS)} links to {nfs.target}, not to {target}"
    if nfs.kind == DIRECTORY:
        return (
            f"{path(NFS)} is a directory of the local disk, not a link to {target}: "
            f"ganesha's records are not on the shared state volume"
        )
    return f"{path(NFS)} is {nfs}, not a link to {target}"
