"""ganesha_nfsd and ganesha_takeover against hostile environments, actions and planted files.

In the style of ``tests/ocfkit/test_fuzz.py``: whatever arrives (any
``OCF_RESKEY_*`` value, shell syntax, paths with spaces, ``..``, names that
cannot be a directory, non-integers where numbers belong, any action), an
agent answers with a documented OCF code, never a traceback, and an exit
reason for every failure.  On the real file system backends, inside a
temporary tree where links, directories of another user and directories
others may write are planted, nothing changes but the paths the agents are
meant to change: ``/var/lib``'s three names, ``nfs-ganesha`` on a volume
root's alone, an address record and its link in the node's recovery root.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ganesha_agents import state_volume
from ganesha_agents.backends.nfsdir import LocalNFSDirectory, VolumeDirectories
from ganesha_agents.fakes import (
    FakeAddressRecords,
    FakeAttributeStore,
    FakeNFSDaemon,
    FakeNFSDirectory,
    FakeVolumes,
)
from ganesha_agents.nfs_state import NAMES
from ganesha_agents.nfsd import DEFAULT_HA_VOL_MNT, GaneshaNfsd
from ganesha_agents.takeover import GaneshaTakeover
from ocfkit.codes import VALID_CODES, ExitCode
from ocfkit.testing import AgentRunner, FakeClock, FakeCommandRunner, MemoryStateStore, Result

NOBODY = 65534
META = "OCF_RESKEY_CRM_meta_"
VIP = "192.0.2.12"

# What os.environ can hold: no NUL, no lone surrogates (undecodable bytes: test_fuzz.py).
text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"))
HOSTILE = ["", " ", "..", "../..", "/", "//", "a/b", ".hidden", "node 1", "$(id)", "`id`",
           "; rm -rf /", "x" * 300, "nöde", "\n", "a\nb", "\x1b[2J", "*", "-1", "1e3", "0x10",
           "20s", "node1", "node2", VIP, "::1", "192.0.2.12/24", "fe80::1%eth0", "0:", "5:x",
           "link", "direct", "true", "/var/lib/nfs", "/", "/tmp", "relative/path"]  # fmt: skip
values = st.one_of(st.sampled_from(HOSTILE), text)
ACTIONS = ["start", "stop", "monitor", "validate-all", "notify", "promote", "demote",
           "meta-data", "usage", "reload", "migrate_to", "status"]  # fmt: skip
actions = st.one_of(st.sampled_from(ACTIONS), text)
META_NAMES = ["interval", "timeout", "on_node", "notify_type", "notify_operation",
              "notify_promote_uname", "notify_demote_uname", "notify_stop_uname",
              "notify_start_uname", "notify_active_uname", "clone", "clone_max",
              "promoted_max", "notify"]  # fmt: skip
metas = st.dictionaries(st.sampled_from(META_NAMES), values, max_size=6)
OTHERS = ["OCF_RESOURCE_INSTANCE", "OCF_CHECK_LEVEL", "HA_debug", "OCF_RA_VERSION_MAJOR"]
others = st.dictionaries(st.sampled_from(OTHERS), values, max_size=3)


def extra_reskeys(*forbidden: str) -> st.SearchStrategy[dict[str, str]]:
    names = st.one_of(st.sampled_from(["x", "a b", "CRM_meta_x", "ip6"]), text).filter(
        lambda n: "=" not in n and n not in forbidden and not n.startswith("CRM_meta_")
    )
    return st.dictionaries(names, values, max_size=3)


def environ(params: dict[str, str], meta: dict[str, str], other: dict[str, str]) -> dict[str, str]:
    return {
        **other,
        **{f"OCF_RESKEY_{k}": v for k, v in params.items()},
        **{META + k: v for k, v in meta.items()},
    }


def crm_node(answer: str) -> FakeCommandRunner:
    """``crm_node -n`` answering ``answer`` (a node name from the cluster, or garbage)."""
    return FakeCommandRunner(lambda argv: answer if argv[:2] == ("crm_node", "-n") else 1)


def assert_valid(result: Result) -> None:
    """The answer Pacemaker can read: a valid code, no traceback, a reason for every failure."""
    assert result.exit_code in VALID_CODES, result
    assert "Traceback" not in result.stdout + result.stderr, result
    if result.action == "meta-data":
        assert result.exit_code == 0 and result.stdout.startswith("<?xml")
    elif result.action in ("usage", "help"):
        assert result.exit_code == 0
    else:
        assert result.stdout == "", result
    if result.exit_code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING, ExitCode.RUNNING_PROMOTED):
        assert result.exit_reason, result
        assert "internal error" not in result.exit_reason, result
        assert result.exit_reason.isprintable()


# ------------------------------------------------------------- on the fakes


@settings(max_examples=150, deadline=None)
@given(
    st.lists(actions, min_size=1, max_size=4),
    st.fixed_dictionaries({}, optional={"ha_vol_mnt": values, "mode": values}),
    extra_reskeys("ha_vol_mnt", "mode"),
    metas,
    others,
    values,
)
def test_ganesha_nfsd_answers_any_environment(
    steps: list[str],
    params: dict[str, str],
    extra: dict[str, str],
    meta: dict[str, str],
    other: dict[str, str],
    crm_node_says: str,
) -> None:
    clock, state = FakeClock(), MemoryStateStore()
    nfs_dir, volumes = FakeNFSDirectory(), FakeVolumes()
    volumes.mount(DEFAULT_HA_VOL_MNT)
    runner = crm_node(crm_node_says)

    def agent() -> GaneshaNfsd:
        return GaneshaNfsd(
            nfs_dir=nfs_dir, volumes=volumes, clock=clock, state_store=state, runner=runner
        )

    env = environ({**extra, **params}, meta, other)
    for step in steps:
        assert_valid(AgentRunner(agent).invoke(step, env))
    assert all(call[0] == "crm_node" for call in runner.calls)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(actions, min_size=1, max_size=5),
    st.fixed_dictionaries(
        {"ip": st.one_of(st.just(VIP), values)},
        optional={
            "ha_vol_mnt": st.one_of(st.just("/shared"), values),
            "grace_budget": values,
            "pid_file": values,
        },
    ),
    extra_reskeys("ip", "ha_vol_mnt", "grace_budget", "pid_file"),
    metas,
    others,
    values,
)
def test_ganesha_takeover_answers_any_environment(
    steps: list[str],
    params: dict[str, str],
    extra: dict[str, str],
    meta: dict[str, str],
    other: dict[str, str],
    crm_node_says: str,
) -> None:
    clock, state = FakeClock(), MemoryStateStore()
    records = FakeAddressRecords(clock)
    daemon = FakeNFSDaemon("node1", clock, records=lambda a: records.read("node1", a))
    attributes = FakeAttributeStore(clock).for_node("node1")
    runner = crm_node(crm_node_says)

    def agent() -> GaneshaTakeover:
        # Records only through the fake: a hostile ha_vol_mnt never reaches the host.
        return GaneshaTakeover(
            attributes=attributes,
            daemon=daemon,
            records=records.for_node("node1"),
            clock=clock,
            state_store=state,
            runner=runner,
        )

    env = environ({**extra, **params}, meta, other)
    for step in steps:
        assert_valid(AgentRunner(agent).invoke(step, env))
    for call in daemon.grace_calls:
        assert call.argument in ("0:", f"2:{params['ip']}", f"5:{params['ip']}")
        assert call.argument.isprintable()


# ------------------------------------------------ on the real file system


def snapshot(base: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under ``base``, never following a link: mode, owner, inode, content."""
    found: dict[str, tuple[int, int, int, str]] = {}
    for directory, dirs, files in os.walk(base):
        for name in dirs + files:
            full = Path(directory) / name
            seen = full.lstat()
            if stat.S_ISLNK(seen.st_mode):
                content = os.readlink(full)
            elif stat.S_ISREG(seen.st_mode):
                content = full.read_text(errors="replace")
            else:
                content = ""
            found[str(full.relative_to(base))] = (seen.st_mode, seen.st_uid, seen.st_ino, content)
    return found


Snapshot = dict[str, tuple[int, int, int, str]]


def changes(before: Snapshot, after: Snapshot) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


class Tree:
    """A temporary tree standing for a node: /var/lib, volumes good and bad, and a victim.

    ``volume`` and ``spaced`` are volume roots of root's alone.  ``open``
    (0777), ``sticky`` (1777) and ``nobodys`` (another user's) are volume
    roots nobody may use; ``link`` is another user's link to ``victim``;
    ``victim`` holds the layout's names, so that anything followed into it
    would find something to act on.
    """

    GOOD = ("volume", "vol with spaces")
    BAD = ("open", "sticky", "nobodys", "link", "file", "missing")

    def __init__(self, base: Path) -> None:
        self.base = base
        self.varlib = base / "varlib"
        self.varlib.mkdir(mode=0o755)
        (self.varlib / "nfs").mkdir(mode=0o755)
        (self.varlib / "nfs" / "state").write_text("node's own")
        for name in ("volume", "vol with spaces", "open", "sticky", "nobodys"):
            (base / name).mkdir(mode=0o755)
        (base / "open").chmod(0o777)
        (base / "sticky").chmod(0o1777)
        os.chown(base / "nobodys", NOBODY, NOBODY)
        victim = base / "victim"
        for node in ("node1", "node2"):
            (victim / "nfs-ganesha" / node / "nfs" / "ganesha" / "v4recov").mkdir(parents=True)
        (victim / "nfs-ganesha" / ".addresses").mkdir()
        (base / "link").symlink_to(victim)
        os.lchown(base / "link", NOBODY, NOBODY)
        (base / "file").write_text("not a volume")
        # In the good volumes, layout directories replaced by another user's links to the victim.
        state_volume.create(base / "vol with spaces", ["node1", "node2"])
        for planted in ("nfs-ganesha/node2", "nfs-ganesha/.addresses"):
            where = base / "vol with spaces" / planted
            os.rename(where, base / "vol with spaces" / f"moved-{where.name}")
            where.symlink_to(victim / planted)
            os.lchown(where, NOBODY, NOBODY)

    def allowed(self, path: str) -> bool:
        """What the agents may change: /var/lib's names, the layout of a good volume."""
        parts = path.split("/")
        if parts[0] == state_volume.STATE_DIR:
            return True  # ha_vol_mnt named the tree itself, a directory of root's alone
        if parts[0] == "varlib":
            return parts[1] in NAMES  # the node's own directory moves with its name
        return parts[0] in self.GOOD and len(parts) > 1 and parts[1] == state_volume.STATE_DIR


volume_choice = st.one_of(
    st.sampled_from([*Tree.GOOD, *Tree.BAD, "volume/", "volume/.", "volume/../victim", ""]),
    text.filter(lambda t: ".." not in t),
)
node_names = st.one_of(st.sampled_from(["node1", "node2", "x" * 256, "a/b", ".x", "n\n1"]), text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["start", "stop", "monitor", "validate-all"]), min_size=1, max_size=4),
    volume_choice,
    st.one_of(st.sampled_from(["link", "direct"]), values),
    node_names,
)
@example(["start"], "sticky", "direct", "node1")  # a volume root others may write
@example(["start", "monitor", "stop"], "vol with spaces", "link", "node1")
def test_ganesha_nfsd_changes_nothing_but_its_own_paths(
    steps: list[str], volume: str, mode: str, node: str
) -> None:
    with tempfile.TemporaryDirectory() as made:
        tree = Tree(Path(made))
        before = snapshot(tree.base)

        def agent() -> GaneshaNfsd:
            return GaneshaNfsd(
                nfs_dir=LocalNFSDirectory(str(tree.varlib)),
                volumes=lambda path: VolumeDirectories(path, require_mount=False),
                clock=FakeClock(),
                state_store=MemoryStateStore(),
                node_name=node,
            )

        env = {
            "OCF_RESOURCE_INSTANCE": "nfs-setup",
            "OCF_RESKEY_ha_vol_mnt": f"{tree.base}/{volume}",
            "OCF_RESKEY_mode": mode,
        }
        for step in steps:
            result = AgentRunner(agent).invoke(step, env)
            assert_valid(result)
        changed = changes(before, snapshot(tree.base))
        assert all(tree.allowed(path) for path in changed), sorted(changed)
        kept = [tree.varlib / name / "state" for name in NAMES]
        assert [p.read_text() for p in kept if p.is_file()] == ["node's own"]
        for name in NAMES:
            link = tree.varlib / name
            if link.is_symlink():
                target = os.readlink(link)
                roots = [f"{tree.base}/{good}/" for good in Tree.GOOD]
                roots.append(f"{tree.base}/{state_volume.STATE_DIR}/")
                assert any(target.startswith(root) for root in roots), target


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["start", "promote", "demote", "monitor", "stop", "promote"]),
        min_size=1,
        max_size=5,
    ),
    # ".." is resolved, as root asked: nothing to test there.
    volume_choice.filter(lambda v: ".." not in v),
    st.one_of(st.sampled_from([VIP, "::1", "2001:db8::7"]), values),
    st.sampled_from(["node1", "node2", "n\n1", ".addresses", "a b"]),
    st.sampled_from(["none", "node2", "victim", "relative", "link-victim", "garbage", "dir"]),
)
@example(["promote"], "vol with spaces", VIP, "node1", "none")  # .addresses is a planted link
@example(["promote", "demote", "promote"], "volume", VIP, "node1", "link-victim")
@example(["promote"], "volume", VIP, "node1", "victim")
def test_ganesha_takeover_changes_nothing_but_the_address_records(
    steps: list[str], volume: str, ip: str, node: str, record: str
) -> None:
    with tempfile.TemporaryDirectory() as made:
        tree = Tree(Path(made))
        state_volume.create(tree.base / "volume", ["node1", "node2"])
        good = tree.base / "volume"
        plant_record(good, tree.base / "victim", record)
        before = snapshot(tree.base)
        clock = FakeClock()
        daemon = FakeNFSDaemon("node1", clock)
        state = MemoryStateStore()

        def agent() -> GaneshaTakeover:
            return GaneshaTakeover(
                attributes=FakeAttributeStore(clock).for_node(node),
                daemon=daemon,
                clock=clock,
                state_store=state,
                node_name=node,
            )

        env = {
            "OCF_RESOURCE_INSTANCE": "vip-takeover",
            "OCF_RESKEY_ip": ip,
            "OCF_RESKEY_ha_vol_mnt": f"{tree.base}/{volume}",
        }
        for step in steps:
            assert_valid(AgentRunner(agent).invoke(step, env))
        changed = changes(before, snapshot(tree.base))
        allowed = {
            f"{where}/{state_volume.STATE_DIR}/{state_volume.ADDRESSES}/{ip}" for where in Tree.GOOD
        } | {f"{where}/{state_volume.STATE_DIR}/{node}/nfs/ganesha/{ip}" for where in Tree.GOOD}
        assert changed <= allowed, sorted(changed - allowed)
        for path in changed:
            target = os.readlink(tree.base / path)
            assert target.startswith(f"{tree.base}/{path.split('/')[0]}/{state_volume.STATE_DIR}/")
        for call in daemon.grace_calls:
            assert call.argument in ("0:", f"2:{ip}", f"5:{ip}")


def plant_record(volume: Path, victim: Path, record: str) -> None:
    """An address record as another node (or something else) may have left it."""
    where = Path(state_volume.address_dir(volume)) / VIP
    if record == "node2":
        where.symlink_to(state_volume.recovery_root(volume, "node2"))
    elif record == "victim":
        where.symlink_to(victim / "nfs-ganesha" / "node2" / "nfs" / "ganesha")
    elif record == "relative":
        where.symlink_to("../node2/nfs/ganesha")
    elif record == "link-victim":
        # The record's text is the layout's, but node2's directory is now a link to the victim.
        where.symlink_to(state_volume.recovery_root(volume, "node2"))
        node2 = volume / "nfs-ganesha" / "node2"
        os.rename(node2, volume / "moved-node2")
        node2.symlink_to(victim / "nfs-ganesha" / "node2")
    elif record == "garbage":
        where.symlink_to("\x1b[2J\nnot a path")
    elif record == "dir":
        (where / "v4recov").mkdir(parents=True)
