"""Building OCF environments for tests: what Pacemaker would set, without Pacemaker.

    env = OCFEnv(instance="nfs-grace").clone(instance=1, max=4).on_node("node1")
    env = env.notification("post", "stop", stop=[("nfs-grace:2", "node2")],
                           active=["node1", "node2", "node3"])

Each method returns a new builder; the builder is a ``Mapping`` and can be
passed straight to ``agent.main(argv, env)`` or ``AgentRunner.invoke``.
Notify lists are written as Pacemaker writes them, an empty one as a single
space (see ``real-cluster/notify-env``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Self

META = "OCF_RESKEY_CRM_meta_"
PAIRED_LISTS = ("start", "stop", "active", "promote", "demote", "promoted", "unpromoted")
_OLD_NAMES = {"promoted": "master", "unpromoted": "slave"}
# What Pacemaker 2.1 puts in notify_key_operation of a post notification
# (seen in real-cluster/notify-env); after fencing it is "stonith".
_DONE = {"start": "running", "stop": "stopped", "promote": "promoted", "demote": "demoted"}

InstanceLike = str | tuple[str, str]


class OCFEnv(Mapping[str, str]):
    """An immutable OCF environment with fluent setters."""

    def __init__(
        self,
        *,
        instance: str = "test",
        resource_type: str = "agent",
        provider: str = "ocfkit",
        rsctmp: str | None = None,
        ra_version: tuple[int, int] | None = (1, 1),
        timeout_ms: int | None = 20_000,
        base: Mapping[str, str] | None = None,
    ) -> None:
        if base is not None:
            self._vars = dict(base)
            return
        values = {
            "OCF_ROOT": "/usr/lib/ocf",
            "OCF_RESOURCE_INSTANCE": instance,
            "OCF_RESOURCE_TYPE": resource_type,
            "OCF_RESOURCE_PROVIDER": provider,
            "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
            "OCF_OUTPUT_FORMAT": "text",
            "HA_debug": "0",
            "PCMK_service": "pacemaker-execd",
            "OCF_RESKEY_crm_feature_set": "3.16.1",
        }
        if ra_version is not None:
            values["OCF_RA_VERSION_MAJOR"] = str(ra_version[0])
            values["OCF_RA_VERSION_MINOR"] = str(ra_version[1])
        if timeout_ms is not None:
            values[META + "timeout"] = str(timeout_ms)
        if rsctmp is not None:
            values["HA_RSCTMP"] = rsctmp
        self._vars = values

    # Mapping protocol
    def __getitem__(self, key: str) -> str:
        return self._vars[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    def __repr__(self) -> str:
        return f"OCFEnv({self._vars!r})"

    def _with(self, values: Mapping[str, str | None]) -> Self:
        merged = dict(self._vars)
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return type(self)(base=merged)

    def set(self, **variables: str | None) -> Self:
        """Raw variables (``None`` removes one)."""
        return self._with(variables)

    def params(self, **values: object) -> Self:
        """``OCF_RESKEY_<name>``; for names that are not identifiers use :meth:`param`."""
        return self._with({f"OCF_RESKEY_{k}": _text(v) for k, v in values.items()})

    def param(self, name: str, value: object) -> Self:
        return self._with({f"OCF_RESKEY_{name}": _text(value)})

    def meta(self, **values: object) -> Self:
        """``OCF_RESKEY_CRM_meta_<name>``, with ``-`` turned into ``_`` as Pacemaker does."""
        return self._with({META + k.replace("-", "_"): _text(v) for k, v in values.items()})

    def timeout(self, ms: int | None) -> Self:
        return self.meta(timeout=ms)

    def probe(self) -> Self:
        """A monitor with interval 0: a probe."""
        return self.meta(interval=0)

    def recurring(self, interval_ms: int = 10_000) -> Self:
        return self.meta(interval=interval_ms)

    def on_node(self, name: str, uuid: str | None = None) -> Self:
        return self.meta(on_node=name, on_node_uuid=uuid if uuid is not None else name)

    def check_level(self, level: int) -> Self:
        return self._with({"OCF_CHECK_LEVEL": str(level)})

    def clone(
        self,
        *,
        instance: int = 0,
        max: int = 3,
        node_max: int = 1,
        notify: bool = True,
        globally_unique: bool = False,
    ) -> Self:
        return self.meta(
            clone=instance,
            clone_max=max,
            clone_node_max=node_max,
            notify="true" if notify else "false",
            globally_unique="true" if globally_unique else "false",
        )

    def notification(
        self,
        type: str,
        operation: str,
        *,
        resource: str | None = None,
        key_operation: str | None = None,
        start: Iterable[InstanceLike] = (),
        stop: Iterable[InstanceLike] = (),
        active: Iterable[InstanceLike] = (),
        promote: Iterable[InstanceLike] = (),
        demote: Iterable[InstanceLike] = (),
        promoted: Iterable[InstanceLike] = (),
        unpromoted: Iterable[InstanceLike] = (),
        inactive: Iterable[str] = (),
        available: Iterable[str] = (),
        all: Iterable[str] = (),
    ) -> Self:
        """All ``notify_*`` variables of one notification, as Pacemaker sets them.

        ``key_operation`` defaults to what Pacemaker writes (``stopped`` for a
        post-stop); pass ``"stonith"`` for a stop that followed fencing.  An
        instance is ``(resource, uname)`` or just an uname, in which case the
        resource is ``<resource>:<n>`` numbered in order of appearance.
        """
        base = resource or self._vars.get("OCF_RESOURCE_INSTANCE", "rsc")
        numbering: dict[str, str] = {}

        def pairs(items: Iterable[InstanceLike]) -> tuple[list[str], list[str]]:
            resources, unames = [], []
            for item in items:
                if isinstance(item, tuple):
                    rsc, uname = item
                else:
                    uname = item
                    rsc = numbering.setdefault(uname, f"{base}:{len(numbering)}")
                resources.append(rsc)
                unames.append(uname)
            return resources, unames

        if key_operation is None:
            key_operation = operation if type == "pre" else _DONE.get(operation, operation)
        values: dict[str, str | None] = {
            META + "notify_type": type,
            META + "notify_operation": operation,
            META + "notify_key_type": type,
            META + "notify_key_operation": key_operation,
        }
        lists = {
            "start": start, "stop": stop, "active": active, "promote": promote,
            "demote": demote, "promoted": promoted, "unpromoted": unpromoted,
        }  # fmt: skip
        for kind, items in lists.items():
            resources, unames = pairs(items)
            names = [kind, _OLD_NAMES[kind]] if kind in _OLD_NAMES else [kind]
            for name in names:
                values[f"{META}notify_{name}_resource"] = pacemaker_list(resources)
                values[f"{META}notify_{name}_uname"] = pacemaker_list(unames)
        values[META + "notify_inactive_resource"] = pacemaker_list(inactive)
        values[META + "notify_available_uname"] = pacemaker_list(available)
        values[META + "notify_all_uname"] = pacemaker_list(all)
        return self._with(values)


def pacemaker_list(words: Iterable[str]) -> str:
    """A notify list the way Pacemaker writes it: words joined by spaces, empty = " "."""
    joined = " ".join(words)
    return joined or " "


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return " ".join(str(v) for v in value)
    return str(value)


def parse_env_dump(text: str) -> list[dict[str, str]]:
    """Environments from a log of ``===== header`` lines followed by ``NAME=value`` lines.

    That is the format of ``real-cluster/notify-env`` (the notifylog probe
    agent's dump); values keep their trailing blanks, an empty list's space.
    """
    dumps: list[dict[str, str]] = []
    for line in text.split("\n"):
        if line.startswith("====="):
            dumps.append({"#header": line.strip("= ")})
        elif dumps and "=" in line:
            name, _, value = line.partition("=")
            dumps[-1][name] = value
    return dumps
