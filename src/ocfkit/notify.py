"""Clone notifications, parsed from ``OCF_RESKEY_CRM_meta_notify_*``.

Pacemaker passes each list as space-separated words, an empty list as a
single space, and pairs ``*_resource`` with ``*_uname`` by position (clone
instance numbers are not tied to nodes).  This module turns that into tuples
of :class:`Instance` so agents never split strings themselves: the 3.7
ganesha_grace agent passed the raw ``notify_stop_uname`` to D-Bus and sent one
malformed call when two nodes stopped at once.
"""

from __future__ import annotations

from ocfkit._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

META_PREFIX = "OCF_RESKEY_CRM_meta_"

# Lists with a resource and an uname half; the second name is the pre-1.1
# spelling Pacemaker still sets, used when the 1.1 one is absent.
_PAIRED: dict[str, str | None] = {
    "start": None,
    "stop": None,
    "active": None,
    "promote": None,
    "demote": None,
    "promoted": "master",
    "unpromoted": "slave",
}


class Instance(Record):
    """One clone instance named in a notification: its resource id and its node."""

    __slots__ = ("resource", "uname")

    def __init__(self, resource: str | None, uname: str | None) -> None:
        self.resource = resource
        self.uname = uname


def split_list(value: str | None) -> tuple[str, ...]:
    """A Pacemaker notify list as words; ``None``, "" and " " are all empty."""
    if value is None:
        return ()
    return tuple(value.split())


def _pairs(resources: tuple[str, ...], unames: tuple[str, ...]) -> tuple[Instance, ...]:
    count = max(len(resources), len(unames))
    return tuple(
        Instance(
            resources[i] if i < len(resources) else None,
            unames[i] if i < len(unames) else None,
        )
        for i in range(count)
    )


class Notification(Record):
    """What a notify action was told: when, about what, and which instances."""

    __slots__ = (
        "active", "all", "available", "demote", "inactive", "key_operation", "key_type",
        "operation", "promote", "promoted", "start", "stop", "type", "unpromoted",
    )  # fmt: skip

    def __init__(
        self,
        *,
        type: str,
        operation: str,
        key_type: str | None = None,
        key_operation: str | None = None,
        start: tuple[Instance, ...] = (),
        stop: tuple[Instance, ...] = (),
        active: tuple[Instance, ...] = (),
        promote: tuple[Instance, ...] = (),
        demote: tuple[Instance, ...] = (),
        promoted: tuple[Instance, ...] = (),
        unpromoted: tuple[Instance, ...] = (),
        inactive: tuple[str, ...] = (),
        available: tuple[str, ...] = (),
        all: tuple[str, ...] = (),
    ) -> None:
        self.type = type
        self.operation = operation
        self.key_type = key_type
        self.key_operation = key_operation
        self.start = start
        self.stop = stop
        self.active = active
        self.promote = promote
        self.demote = demote
        self.promoted = promoted
        self.unpromoted = unpromoted
        self.inactive = inactive
        self.available = available
        self.all = all

    @property
    def is_pre(self) -> bool:
        return self.type == "pre"

    @property
    def is_post(self) -> bool:
        return self.type == "post"

    @property
    def event(self) -> str:
        """``pre-start``, ``post-stop``, ...: the name people use for it."""
        return f"{self.type}-{self.operation}"

    @property
    def after_fencing(self) -> bool:
        """True when the stop follows fencing a node (``key_operation=stonith``)."""
        return self.key_operation == "stonith"

    @staticmethod
    def unames(instances: tuple[Instance, ...]) -> tuple[str, ...]:
        """The distinct node names of ``instances``, in order, without blanks."""
        seen: dict[str, None] = {}
        for instance in instances:
            if instance.uname:
                seen.setdefault(instance.uname, None)
        return tuple(seen)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notification:
        """Parse the notify variables; missing variables read as empty lists."""

        def meta(name: str) -> str | None:
            return environ.get(META_PREFIX + "notify_" + name)

        lists: dict[str, tuple[Instance, ...]] = {}
        for kind, old in _PAIRED.items():
            resources = meta(f"{kind}_resource")
            unames = meta(f"{kind}_uname")
            if old is not None and resources is None and unames is None:
                resources = meta(f"{old}_resource")
                unames = meta(f"{old}_uname")
            lists[kind] = _pairs(split_list(resources), split_list(unames))
        return cls(
            type=(meta("type") or "").strip(),
            operation=(meta("operation") or "").strip(),
            key_type=meta("key_type"),
            key_operation=meta("key_operation"),
            inactive=split_list(meta("inactive_resource")),
            available=split_list(meta("available_uname")),
            all=split_list(meta("all_uname")),
            **lists,
        )
