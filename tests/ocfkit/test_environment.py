"""The parsed environment: real Pacemaker environments, and garbage that must never raise."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import MetaAttributes, OCFEnvironment
from ocfkit.environment import DEFAULT_RSCTMP
from ocfkit.testing import parse_env_dump

DATA = Path(__file__).resolve().parents[1] / "data"
META = "OCF_RESKEY_CRM_meta_"
NUMERIC_META = ["interval", "timeout", "clone_max", "clone_node_max", "promoted_max",
                "promoted_node_max"]  # fmt: skip


def real_environment() -> dict[str, str]:
    """What Pacemaker 2.1.5 set for a notify on node1 (see tests/data/notify-env)."""
    text = (DATA / "notify-env" / "notify-3node-ban-node3-seen-on-node1.log").read_text()
    return parse_env_dump(text)[0]


def parse(environ: dict[str, str], action: str = "monitor") -> OCFEnvironment:
    return OCFEnvironment.from_environ(environ, action)


def test_a_real_pacemaker_environment() -> None:
    env = parse(real_environment(), "notify")
    assert (env.instance, env.resource_type, env.provider) == ("nl", "notifylog", "probe")
    assert env.ocf_root == "/usr/lib/ocf"
    assert env.ra_version == (1, 1)
    assert env.exit_reason_prefix == "ocf-exit-reason:"
    assert env.output_format == "text"
    assert env.check_level == 0
    assert env.rsctmp == DEFAULT_RSCTMP  # Pacemaker does not set HA_RSCTMP
    assert env.warnings == ()
    assert not env.is_probe
    meta = env.meta
    assert meta.timeout_ms == 20000
    assert meta.interval_ms is None
    assert (meta.clone, meta.clone_max, meta.clone_node_max) == ("1", 3, 1)
    assert (meta.globally_unique, meta.notify) == (False, True)
    assert (meta.on_node, meta.on_node_uuid) == ("node1", "1")
    assert meta.is_clone
    assert meta.raw["notify_type"] == "pre"
    assert meta.raw["notify_start_uname"] == " "  # kept as given


def test_an_empty_environment() -> None:
    env = parse({})
    assert env.instance is None and env.ra_version is None
    assert env.meta == MetaAttributes()
    assert not env.meta.is_clone
    assert env.is_probe  # a monitor with no interval at all
    assert env.warnings == ()


@pytest.mark.parametrize(
    ("interval", "probe"),
    [(None, True), ("0", True), ("", True), ("  ", True), ("10000", False), ("1", False)],
)
def test_probe_is_a_monitor_with_no_interval(interval: str | None, probe: bool) -> None:
    environ = {} if interval is None else {META + "interval": interval}
    assert parse(environ, "monitor").is_probe is probe
    for other in ("start", "stop", "notify", "validate-all"):
        assert parse(environ, other).is_probe is False


@pytest.mark.parametrize(
    ("value", "level", "warned"),
    [("10", 10, False), ("0", 0, False), ("", 0, False), ("-1", 0, False), ("deep", 0, True)],
)
def test_check_level(value: str, level: int, warned: bool) -> None:
    env = parse({"OCF_CHECK_LEVEL": value})
    assert env.check_level == level
    assert bool(env.warnings) is warned


@pytest.mark.parametrize(
    ("value", "rsctmp", "warned"),
    [
        ("/var/run/x", "/var/run/x", False),
        ("", DEFAULT_RSCTMP, False),
        ("relative/dir", DEFAULT_RSCTMP, True),
        ("~/x", DEFAULT_RSCTMP, True),
        ("/with\0nul", DEFAULT_RSCTMP, True),
    ],
)
def test_rsctmp_must_be_an_absolute_path(value: str, rsctmp: str, warned: bool) -> None:
    env = parse({"HA_RSCTMP": value})
    assert env.rsctmp == rsctmp
    assert bool(env.warnings) is warned


@pytest.mark.parametrize(
    ("major", "minor", "version"),
    [("1", "1", (1, 1)), ("1", "0", (1, 0)), (" 1 ", "1", (1, 1)), ("1", None, (1, 0)),
     (None, "1", None), ("x", "1", None), ("2", "junk", (2, 0))],
)  # fmt: skip
def test_ra_version(major: str | None, minor: str | None, version: tuple[int, int] | None) -> None:
    environ = {}
    if major is not None:
        environ["OCF_RA_VERSION_MAJOR"] = major
    if minor is not None:
        environ["OCF_RA_VERSION_MINOR"] = minor
    assert parse(environ).ra_version == version


def test_promoted_max_falls_back_to_the_master_spelling() -> None:
    old = MetaAttributes.from_environ({META + "master_max": "1", META + "master_node_max": "1"}, [])
    assert (old.promoted_max, old.promoted_node_max) == (1, 1)
    both = MetaAttributes.from_environ({META + "promoted_max": "2", META + "master_max": "1"}, [])
    assert both.promoted_max == 2


@pytest.mark.parametrize("name", NUMERIC_META)
@pytest.mark.parametrize("garbage", ["abc", "1.5", "10s", "0x10", "1 2", "9" * 40])
def test_unparsable_numbers_read_as_none_with_a_warning(name: str, garbage: str) -> None:
    warnings: list[str] = []
    meta = MetaAttributes.from_environ({META + name: garbage}, warnings)
    attribute = {"interval": "interval_ms", "timeout": "timeout_ms"}.get(name, name)
    assert getattr(meta, attribute) is None
    assert len(warnings) == 1
    assert META + name in warnings[0] and repr(garbage) in warnings[0]


@pytest.mark.parametrize(("word", "value"), [("true", True), ("TRUE", True), ("yes", True),
                         ("y", True), ("1", True), ("on", True), ("false", False),
                         ("no", False), ("garbage", False), ("", None), (" ", None)])  # fmt: skip
def test_pacemaker_booleans(word: str, value: bool | None) -> None:
    assert MetaAttributes.from_environ({META + "notify": word}, []).notify is value


# What os.environ can hold: no NUL, no "=" in a name, no lone surrogate.
env_values = st.text(alphabet=st.characters(exclude_characters="\0", exclude_categories=["Cs"]))
env_names = env_values.filter(lambda n: n != "" and "=" not in n)
KNOWN_META = [META + n for n in [*NUMERIC_META, "clone", "notify", "globally_unique", "on_node"]]
KNOWN_OTHERS = ["OCF_CHECK_LEVEL", "HA_RSCTMP", "OCF_RA_VERSION_MAJOR", "OCF_RA_VERSION_MINOR",
                "OCF_EXIT_REASON_PREFIX", "OCF_RESOURCE_INSTANCE"]  # fmt: skip


@given(
    st.dictionaries(
        st.one_of(
            env_names.map(lambda n: META + n),
            st.sampled_from(KNOWN_META),
            st.sampled_from(KNOWN_OTHERS),
            env_names,
        ),
        env_values,
        max_size=12,
    ),
    st.sampled_from(["monitor", "start", "stop", "notify", "x"]),
)
def test_garbage_never_raises(environ: dict[str, str], action: str) -> None:
    env = parse(environ, action)
    assert env.rsctmp.startswith("/")
    assert env.check_level >= 0
    assert "\n" not in env.exit_reason_prefix
    assert isinstance(env.is_probe, bool)
    for warning in env.warnings:
        assert isinstance(warning, str) and warning
    # Every prefixed variable is kept raw, whatever its name.
    assert set(env.meta.raw) == {k[len(META) :] for k in environ if k.startswith(META)}


def test_records_compare_by_value() -> None:
    a = MetaAttributes(interval_ms=1, clone="0")
    assert a == MetaAttributes(interval_ms=1, clone="0")
    assert a != MetaAttributes(interval_ms=2, clone="0")
    assert "interval_ms=1" in repr(a)
    assert repr(parse({"OCF_RESOURCE_INSTANCE": "r"}, "start")) == (
        "OCFEnvironment(action='start', instance='r')"
    )


@pytest.mark.parametrize(
    ("variable", "attribute", "default"),
    [
        ("HA_VARRUN", "varrun", "/var/run"),
        ("HA_VARLIB", "varlib", "/var/lib/heartbeat"),
        ("HA_VARLOCK", "varlock", "/var/lock/subsys"),
        ("HA_RSCTMP", "rsctmp", "/run/resource-agents"),
    ],
)
def test_the_ocf_directories_with_ocf_directories_defaults(
    variable: str, attribute: str, default: str
) -> None:
    assert getattr(parse({}), attribute) == default
    assert getattr(parse({variable: "/run/"}), attribute) == "/run"
    assert getattr(parse({variable: "/srv/x"}), attribute) == "/srv/x"
    relative = parse({variable: "run"})
    assert getattr(relative, attribute) == default
    assert relative.warnings == (f"ignoring {variable}='run': not an absolute path",)
