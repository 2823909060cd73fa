"""ganesha_nfsd's decisions on a simulated node: /var/lib and the state volume in memory."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganesha_agents import nfs_state
from ganesha_agents.fakes import Crash, FakeEntry, FakeNFSDirectory, FakeVolume, FakeVolumes
from ganesha_agents.nfs_state import LOCAL, NEW, NFS
from ganesha_agents.nfsd import DEFAULT_HA_VOL_MNT, GaneshaNfsd
from ganesha_agents.state_volume import valid_node_name
from ocfkit import ExitCode
from ocfkit.codes import VALID_CODES
from ocfkit.testing import (
    AgentRunner,
    FakeClock,
    FakeCommandRunner,
    MemoryStateStore,
    OCFEnv,
    Result,
)

VOLUME = "/srv/state"
TARGET = f"{VOLUME}/nfs-ganesha/node1/nfs"


@attrs.define
class Node:
    """node1: its /var/lib, the mounted state volume, its HA_RSCTMP."""

    nfs_dir: FakeNFSDirectory
    volumes: FakeVolumes
    state: MemoryStateStore
    commands: FakeCommandRunner

    @property
    def volume(self) -> FakeVolume:
        return self.volumes.volumes[VOLUME]

    def agent(self) -> GaneshaNfsd:
        return GaneshaNfsd(
            nfs_dir=self.nfs_dir,
            volumes=self.volumes,
            clock=FakeClock(),
            state_store=self.state,
            runner=self.commands,
        )

    def run(self, action: str, env: OCFEnv | None = None, **params: str) -> Result:
        environment = (
            (env or environment_of()).params(**params) if params else env or environment_of()
        )
        return AgentRunner(self.agent).invoke(action, environment)

    def at(self, name: str) -> FakeEntry | None:
        return self.nfs_dir.at(name)

    def reboot(self) -> None:
        """HA_RSCTMP is a tmpfs: the agent's state file is gone; /var/lib is not."""
        self.state.values.clear()


def environment_of(mode: str = "link") -> OCFEnv:
    return (
        OCFEnv(instance="nfs-setup", resource_type="ganesha_nfsd", provider="ganesha")
        .clone(instance=0, max=4)
        .on_node("node1")
        .params(ha_vol_mnt=VOLUME, mode=mode)
    )


def new_node(nfs: FakeEntry | None = None, *, exchange: bool = True) -> Node:
    volumes = FakeVolumes()
    volumes.mount(VOLUME)
    return Node(
        nfs_dir=FakeNFSDirectory(nfs, exchange_supported=exchange),
        volumes=volumes,
        state=MemoryStateStore(),
        commands=FakeCommandRunner(
            lambda argv: "node1\n" if argv[:2] == ("crm_node", "-n") else None
        ),
    )


@pytest.fixture
def node() -> Node:
    return new_node()


def linked(node: Node) -> bool:
    entry = node.at(NFS)
    return entry is not None and entry.kind == "link" and entry.target == TARGET


# ------------------------------------------------------------------ link mode


def test_probe_where_it_never_ran_answers_7(node: Node) -> None:
    assert node.run("monitor", environment_of().probe()).code == ExitCode.NOT_RUNNING
    assert node.nfs_dir.steps == []
    assert node.volume.created == []


def test_start_links_var_lib_nfs_and_stop_puts_the_same_directory_back(node: Node) -> None:
    assert node.run("start").code == ExitCode.SUCCESS
    assert linked(node)
    assert node.at(LOCAL) == FakeEntry("directory", ident="local-nfs")
    assert node.volume.directories == set(node.volume.chain("node1"))
    assert node.nfs_dir.missing_nfs == 0, "with RENAME_EXCHANGE /var/lib/nfs is never missing"
    assert node.run("monitor", environment_of().recurring()).code == ExitCode.SUCCESS
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}
    assert node.run("monitor", environment_of().recurring()).code == ExitCode.NOT_RUNNING
    # The records stay on the volume: stop never touches it.
    assert node.volume.directories == set(node.volume.chain("node1"))


def test_start_is_idempotent(node: Node) -> None:
    assert node.run("start").code == ExitCode.SUCCESS
    steps = list(node.nfs_dir.steps)
    assert node.run("start").code == ExitCode.SUCCESS
    assert node.nfs_dir.steps == steps
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}


def test_without_exchange_the_switch_takes_two_renames() -> None:
    node = new_node(exchange=False)
    result = node.run("start")
    assert result.code == ExitCode.SUCCESS
    assert result.logged("renaming in two steps")
    assert linked(node) and node.at(LOCAL) == FakeEntry("directory", ident="local-nfs")
    assert node.nfs_dir.missing_nfs == 1
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}


def test_a_node_without_var_lib_nfs_gets_the_link_and_loses_it_again() -> None:
    node = new_node(FakeEntry("absent"))
    assert node.run("start").code == ExitCode.SUCCESS
    assert linked(node) and node.at(LOCAL) == FakeEntry("marker", ident="marker")
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {}


def test_a_link_already_in_place_is_adopted_and_left_as_found() -> None:
    node = new_node(FakeEntry("link", TARGET, ident="by hand"))
    result = node.run("start")
    assert result.code == ExitCode.SUCCESS
    assert result.logged("stop will leave it as found")
    assert node.run("monitor", environment_of().recurring()).code == ExitCode.SUCCESS
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.steps == []
    assert node.nfs_dir.entries == {NFS: FakeEntry("link", TARGET, ident="by hand")}
    assert node.run("monitor", environment_of().recurring()).code == ExitCode.NOT_RUNNING


def test_somebody_elses_link_is_not_replaced() -> None:
    node = new_node(FakeEntry("link", "/elsewhere", ident="theirs"))
    result = node.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert "ganesha_nfsd did not make it" in (result.exit_reason or "")
    assert node.nfs_dir.steps == []


def test_after_a_reboot_the_switch_is_still_reported_and_stopped() -> None:
    node = new_node()
    assert node.run("start").code == ExitCode.SUCCESS
    node.reboot()
    # The link is this agent's doing: a probe says so, and Pacemaker can stop it.
    assert node.run("monitor", environment_of().probe()).code == ExitCode.SUCCESS
    assert node.run("start").code == ExitCode.SUCCESS
    node.reboot()
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}


def test_stop_puts_back_whatever_the_parameters_became(node: Node) -> None:
    assert node.run("start").code == ExitCode.SUCCESS
    result = node.run("stop", ha_vol_mnt="relative/path", mode="bogus")
    assert result.code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}
    # The same after a switch to direct mode: what link mode changed is undone.
    assert node.run("start").code == ExitCode.SUCCESS
    assert node.run("stop", environment_of("direct")).code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}


def test_a_stop_that_finds_a_foreign_state_logs_it_and_changes_nothing(node: Node) -> None:
    assert node.run("start").code == ExitCode.SUCCESS
    node.nfs_dir.entries[NFS] = FakeEntry("directory", ident="made by someone")
    steps = list(node.nfs_dir.steps)
    result = node.run("stop")
    assert result.code == ExitCode.SUCCESS
    assert result.logged("does not merge them")
    assert node.nfs_dir.steps == steps


def test_a_stop_whose_step_fails_fails(node: Node) -> None:
    assert node.run("start").code == ExitCode.SUCCESS

    class Refusing(FakeNFSDirectory):
        def exchange(self, name: str, other: str) -> bool:
            raise ocfkit_error("cannot swap: Device or resource busy")

    refusing = Refusing()
    refusing.entries = node.nfs_dir.entries
    node.nfs_dir = refusing
    result = node.run("stop")
    assert result.code == ExitCode.ERR_GENERIC
    assert "Device or resource busy" in (result.exit_reason or "")


def ocfkit_error(reason: str) -> Exception:
    from ocfkit import GenericError

    return GenericError(reason)


@pytest.mark.parametrize(
    ("breakage", "fragment"),
    [
        (
            lambda n: n.nfs_dir.entries.update({NFS: FakeEntry("directory", ident="x")}),
            "local disk",
        ),
        (lambda n: n.nfs_dir.entries.update({NFS: FakeEntry("link", "/x")}), "links to /x"),
        (lambda n: setattr(n.volume, "mounted", False), "not a mount point"),
        (
            lambda n: n.volume.directories.discard("nfs-ganesha/node1/nfs/ganesha/v4recov"),
            "v4recov",
        ),
        (lambda n: n.volume.wrong.update({"nfs-ganesha/node1": "owned by uid 1000"}), "uid 1000"),
    ],
)
def test_a_broken_layout_is_an_error_that_says_what_broke(
    node: Node, breakage: Callable[[Node], None], fragment: str
) -> None:
    assert node.run("start").code == ExitCode.SUCCESS
    breakage(node)
    result = node.run("monitor", environment_of().recurring())
    assert result.code == ExitCode.ERR_GENERIC
    assert fragment in (result.exit_reason or "")


# ---------------------------------------------------------------- direct mode


def test_direct_mode_never_touches_var_lib_nfs(node: Node) -> None:
    env = environment_of("direct")
    assert node.run("monitor", env.probe()).code == ExitCode.NOT_RUNNING
    assert node.run("start", env).code == ExitCode.SUCCESS
    assert node.volume.directories == set(node.volume.chain("node1"))
    assert node.run("monitor", env.recurring()).code == ExitCode.SUCCESS
    node.volume.mounted = False
    result = node.run("monitor", env.recurring())
    assert result.code == ExitCode.ERR_GENERIC
    assert "is the shared state volume mounted" in (result.exit_reason or "")
    node.volume.mounted = True
    assert node.run("stop", env).code == ExitCode.SUCCESS
    assert node.run("monitor", env.recurring()).code == ExitCode.NOT_RUNNING
    assert node.nfs_dir.steps == []
    assert node.nfs_dir.entries == {NFS: FakeEntry("directory", ident="local-nfs")}


# ------------------------------------------------------------ the volume's state


def test_start_fails_and_changes_nothing_when_the_volume_is_not_mounted(node: Node) -> None:
    node.volume.mounted = False
    result = node.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert "not a mount point" in (result.exit_reason or "")
    assert node.nfs_dir.steps == []


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda n: setattr(n.volume, "mounted", False), "not a mount point"),
        (lambda n: setattr(n.volume, "writable", False), "does not take writes"),
        (lambda n: n.nfs_dir.entries.update({NFS: FakeEntry("link", "/x")}), "did not make it"),
    ],
)
def test_validate_all_says_what_would_stop_a_start(
    node: Node, setup: Callable[[Node], None], fragment: str
) -> None:
    assert node.run("validate-all").code == ExitCode.SUCCESS
    setup(node)
    result = node.run("validate-all")
    assert result.code == ExitCode.ERR_CONFIGURED
    assert fragment in (result.exit_reason or "")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("relative", "absolute"),
        ("/srv/../etc", "without . or .."),
        ("/", "cannot be /"),
        ("/var/lib/nfs/volume", "cannot be /var/lib/nfs/volume"),
        ("//srv", "absolute"),
    ],
)
def test_ha_vol_mnt_must_name_a_mount_of_its_own(node: Node, value: str, fragment: str) -> None:
    for action in ("validate-all", "start"):
        result = node.run(action, ha_vol_mnt=value)
        assert result.code == ExitCode.ERR_CONFIGURED
        assert fragment in (result.exit_reason or "")
    assert node.run("monitor", environment_of().probe(), ha_vol_mnt=value).code == 7
    assert node.nfs_dir.steps == [] and node.volume.created == []


def test_a_bad_mode_is_a_configuration_error(node: Node) -> None:
    result = node.run("start", mode="symlink")
    assert result.code == ExitCode.ERR_CONFIGURED
    assert "mode must be link or direct" in (result.exit_reason or "")
    assert node.volume.created == []


def test_the_node_name_comes_from_pacemaker_then_crm_node(node: Node) -> None:
    env = environment_of().set(OCF_RESKEY_CRM_meta_on_node=None)
    assert node.run("start", env).code == ExitCode.SUCCESS
    assert node.commands.commands("crm_node") == [("crm_node", "-n")]
    assert linked(node)


@pytest.mark.parametrize("name", ["../../etc", ".hidden", "a/b", "x\ny", ""])
def test_a_node_name_that_cannot_be_a_directory_is_refused(node: Node, name: str) -> None:
    env = environment_of().on_node(name) if name else environment_of()
    if not name:
        node.commands = FakeCommandRunner(lambda argv: "\n")
        env = env.set(OCF_RESKEY_CRM_meta_on_node=None)
    result = node.run("start", env)
    assert result.code in (ExitCode.ERR_CONFIGURED, ExitCode.ERR_GENERIC)
    assert result.exit_reason
    assert node.volume.created == [] and node.nfs_dir.steps == []


# ------------------------------------------------- interrupted anywhere, completed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["own directory", "no /var/lib/nfs", "already linked"]),
    st.booleans(),
    st.lists(
        st.tuples(
            st.sampled_from(["start", "stop", "monitor", "reboot"]),
            st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
        ),
        max_size=10,
    ),
)
def test_killed_at_any_step_the_next_start_or_stop_completes_it(
    origin: str, exchange: bool, actions: list[tuple[str, int | None]]
) -> None:
    initial = {
        "own directory": None,
        "no /var/lib/nfs": FakeEntry("absent"),
        "already linked": FakeEntry("link", TARGET, ident="by hand"),
    }[origin]
    node = new_node(initial, exchange=exchange)
    before = dict(node.nfs_dir.entries)
    for action, crash_after in actions:
        if action == "reboot":
            node.reboot()
            continue
        node.nfs_dir.crash_after = crash_after
        try:
            result = node.run(action, environment_of().recurring() if action == "monitor" else None)
        except Crash:
            continue
        finally:
            node.nfs_dir.crash_after = None
        assert result.code in VALID_CODES
        if action == "start":
            assert result.code == ExitCode.SUCCESS, result
            assert linked(node) and NEW not in node.nfs_dir.entries
        elif action == "stop":
            assert result.code == ExitCode.SUCCESS, result
            assert node.nfs_dir.entries == before
        # Whatever happened, the node's own directory is in exactly one place.
        idents = [e.ident for e in node.nfs_dir.entries.values()]
        assert idents.count("local-nfs") == (1 if initial is None else 0)
        if exchange and initial is None:
            assert node.nfs_dir.missing_nfs == 0
    # And from wherever it was left, a stop puts everything back.
    assert node.run("stop").code == ExitCode.SUCCESS
    assert node.nfs_dir.entries == before
    assert node.nfs_dir.foreign == []


# ------------------------------------------------------------ hostile input

text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"))
paths = st.one_of(
    text,
    st.sampled_from(["/", "/etc", "/srv/state/..", "/srv/state/", "/srv//state", VOLUME, "~"]),
    text.map(lambda t: "/srv/state/" + t),
)
names = st.one_of(text, st.sampled_from(["node1", "..", ".", "../x", "node1/../../etc"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["start", "stop", "monitor", "validate-all", "meta-data"]), max_size=5
    ),
    paths,
    st.one_of(text, st.sampled_from(["link", "direct", "LINK", ""])),
    names,
    st.sampled_from(["", "0", "20000", "x"]),
)
def test_hostile_parameters_end_with_an_answer_and_touch_nothing_else(
    actions: list[str], volume: str, mode: str, on_node: str, interval: str
) -> None:
    node = new_node()
    env = environment_of().params(ha_vol_mnt=volume, mode=mode).on_node(on_node)
    env = env.meta(interval=interval)
    for action in actions:
        result = node.run(action, env)
        assert result.code in VALID_CODES
        assert "Traceback" not in result.stdout + result.stderr
        if result.code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING):
            assert result.exit_reason and "internal error" not in result.exit_reason
    assert node.nfs_dir.foreign == []
    for each in node.nfs_dir.entries.values():
        if each.kind == "link":
            assert each.target == f"{VOLUME}/nfs-ganesha/{on_node or 'node1'}/nfs"
            assert valid_node_name(on_node or "node1")
    for created in node.volume.created:
        below = created.removeprefix(f"{VOLUME}/nfs-ganesha")
        assert below != created, created
        assert all(valid_node_name(part) for part in below.split("/")[1:]), created


def test_the_conformance_factory_uses_the_default_mount_point() -> None:
    agent = GaneshaNfsd.conformance_factory()()
    assert isinstance(agent, GaneshaNfsd)
    assert DEFAULT_HA_VOL_MNT == "/var/run/gluster/shared_storage"
    assert nfs_state.PARENT == "/var/lib"
