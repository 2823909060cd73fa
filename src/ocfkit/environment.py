"""A typed view of the environment Pacemaker gives an agent.

Every value here is untrusted input: it may be missing, empty or garbage
(a person running the agent by hand, a fuzzer, a tool that sets only half of
it).  Parsing never raises; a value that does not parse reads as absent and
leaves a warning for the log.
"""

from __future__ import annotations

from ocfkit._record import Record
from ocfkit.paramtypes import CRM_TRUE_WORDS, parse_decimal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ocfkit.notify import Notification

META_PREFIX = "OCF_RESKEY_CRM_meta_"
DEFAULT_OCF_ROOT = "/usr/lib/ocf"
DEFAULT_RSCTMP = "/run/resource-agents"
DEFAULT_VARRUN = "/var/run"
DEFAULT_VARLIB = "/var/lib/heartbeat"
DEFAULT_VARLOCK = "/var/lock/subsys"
"""The defaults of resource-agents' ``ocf-directories`` (Pacemaker sets none of them)."""
DEFAULT_EXIT_REASON_PREFIX = "ocf-exit-reason:"


def _int(value: str | None, name: str, warnings: list[str]) -> int | None:
    if value is None or value.strip() == "":
        return None
    number = parse_decimal(value)
    if number is not None:
        return number
    warnings.append(f"ignoring {name}={value!r}: not an integer")
    return None


def _bool(value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    return value.strip().lower() in CRM_TRUE_WORDS


class MetaAttributes(Record):
    """The ``OCF_RESKEY_CRM_meta_*`` values an agent commonly needs.

    ``raw`` keeps every meta variable (without the prefix) for the rest.
    """

    __slots__ = (
        "clone", "clone_max", "clone_node_max", "globally_unique", "interval_ms",
        "migrate_source", "migrate_target", "notify", "on_node", "on_node_uuid",
        "promotable", "promoted_max", "promoted_node_max", "raw", "timeout_ms",
    )  # fmt: skip

    def __init__(
        self,
        *,
        raw: Mapping[str, str] | None = None,
        interval_ms: int | None = None,
        timeout_ms: int | None = None,
        on_node: str | None = None,
        on_node_uuid: str | None = None,
        clone: str | None = None,
        clone_max: int | None = None,
        clone_node_max: int | None = None,
        globally_unique: bool | None = None,
        notify: bool | None = None,
        promotable: bool | None = None,
        promoted_max: int | None = None,
        promoted_node_max: int | None = None,
        migrate_source: str | None = None,
        migrate_target: str | None = None,
    ) -> None:
        self.raw: Mapping[str, str] = raw if raw is not None else {}
        self.interval_ms = interval_ms
        self.timeout_ms = timeout_ms
        self.on_node = on_node
        self.on_node_uuid = on_node_uuid
        self.clone = clone
        self.clone_max = clone_max
        self.clone_node_max = clone_node_max
        self.globally_unique = globally_unique
        self.notify = notify
        self.promotable = promotable
        self.promoted_max = promoted_max
        self.promoted_node_max = promoted_node_max
        self.migrate_source = migrate_source
        self.migrate_target = migrate_target

    @property
    def is_clone(self) -> bool:
        return self.clone is not None or self.clone_max is not None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], warnings: list[str]) -> MetaAttributes:
        raw = {k[len(META_PREFIX) :]: v for k, v in environ.items() if k.startswith(META_PREFIX)}

        def text(name: str) -> str | None:
            value = raw.get(name)
            return value if value else None

        def number(name: str) -> int | None:
            return _int(raw.get(name), META_PREFIX + name, warnings)

        return cls(
            raw=raw,
            interval_ms=number("interval"),
            timeout_ms=number("timeout"),
            on_node=text("on_node"),
            on_node_uuid=text("on_node_uuid"),
            clone=text("clone"),
            clone_max=number("clone_max"),
            clone_node_max=number("clone_node_max"),
            globally_unique=_bool(raw.get("globally_unique")),
            notify=_bool(raw.get("notify")),
            promotable=_bool(raw.get("promotable")),
            promoted_max=number("promoted_max") if "promoted_max" in raw else number("master_max"),
            promoted_node_max=(
                number("promoted_node_max")
                if "promoted_node_max" in raw
                else number("master_node_max")
            ),
            migrate_source=text("migrate_source"),
            migrate_target=text("migrate_target"),
        )


class OCFEnvironment(Record):
    """Everything an action may learn from its environment, parsed once."""

    __slots__ = (
        "action", "check_level", "environ", "exit_reason_prefix", "instance", "meta",
        "ocf_root", "output_format", "provider", "ra_version", "resource_type", "rsctmp",
        "varlib", "varlock", "varrun", "warnings",
    )  # fmt: skip

    def __init__(
        self,
        *,
        action: str,
        environ: Mapping[str, str],
        meta: MetaAttributes,
        instance: str | None = None,
        resource_type: str | None = None,
        provider: str | None = None,
        ocf_root: str = DEFAULT_OCF_ROOT,
        ra_version: tuple[int, int] | None = None,
        exit_reason_prefix: str = DEFAULT_EXIT_REASON_PREFIX,
        output_format: str | None = None,
        check_level: int = 0,
        rsctmp: str = DEFAULT_RSCTMP,
        varrun: str = DEFAULT_VARRUN,
        varlib: str = DEFAULT_VARLIB,
        varlock: str = DEFAULT_VARLOCK,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.action = action
        self.environ = environ
        self.meta = meta
        self.instance = instance
        self.resource_type = resource_type
        self.provider = provider
        self.ocf_root = ocf_root
        self.ra_version = ra_version
        self.exit_reason_prefix = exit_reason_prefix
        self.output_format = output_format
        self.check_level = check_level
        self.rsctmp = rsctmp
        self.varrun = varrun
        self.varlib = varlib
        self.varlock = varlock
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"OCFEnvironment(action={self.action!r}, instance={self.instance!r})"

    @property
    def is_probe(self) -> bool:
        """A monitor with no interval (0 or unset) is a probe, as ocf_is_probe says."""
        return self.action == "monitor" and not self.meta.interval_ms

    @property
    def notification(self) -> Notification:
        from ocfkit.notify import Notification

        return Notification.from_environ(self.environ)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], action: str) -> OCFEnvironment:
        warnings: list[str] = []
        meta = MetaAttributes.from_environ(environ, warnings)

        major = _int(environ.get("OCF_RA_VERSION_MAJOR"), "OCF_RA_VERSION_MAJOR", warnings)
        minor = _int(environ.get("OCF_RA_VERSION_MINOR"), "OCF_RA_VERSION_MINOR", warnings)
        ra_version = (major, minor or 0) if major is not None else None

        level = _int(environ.get("OCF_CHECK_LEVEL"), "OCF_CHECK_LEVEL", warnings)
        prefix = environ.get("OCF_EXIT_REASON_PREFIX") or DEFAULT_EXIT_REASON_PREFIX
        if "\n" in prefix:
            warnings.append("ignoring OCF_EXIT_REASON_PREFIX: it spans lines")
            prefix = DEFAULT_EXIT_REASON_PREFIX

        def directory(name: str, default: str) -> str:
            value = environ.get(name) or default
            if not value.startswith("/") or "\0" in value:
                warnings.append(f"ignoring {name}={value!r}: not an absolute path")
                return default
            return value.rstrip("/") or "/"

        return cls(
            action=action,
            environ=environ,
            meta=meta,
            instance=environ.get("OCF_RESOURCE_INSTANCE") or None,
            resource_type=environ.get("OCF_RESOURCE_TYPE") or None,
            provider=environ.get("OCF_RESOURCE_PROVIDER") or None,
            ocf_root=environ.get("OCF_ROOT") or DEFAULT_OCF_ROOT,
            ra_version=ra_version,
            exit_reason_prefix=prefix,
            output_format=environ.get("OCF_OUTPUT_FORMAT") or None,
            check_level=level if level is not None and level >= 0 else 0,
            rsctmp=directory("HA_RSCTMP", DEFAULT_RSCTMP),
            varrun=directory("HA_VARRUN", DEFAULT_VARRUN),
            varlib=directory("HA_VARLIB", DEFAULT_VARLIB),
            varlock=directory("HA_VARLOCK", DEFAULT_VARLOCK),
            warnings=tuple(warnings),
        )
