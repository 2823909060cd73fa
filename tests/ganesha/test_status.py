"""``ganesha-agents status``: verdicts from crm_mon XML captured on Pacemaker 2.1.5.

The fixtures in tests/data/status are crm_mon's own output for a three-node
cluster with the generated configuration, driven into each state by
Pacemaker's scheduler (tests/ganesha/status_fixtures.py).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ganesha_agents.cli import main
from ganesha_agents.status import render
from ganesha_agents.status.build import build
from ganesha_agents.status.crm_mon import CrmMonError, parse
from ganesha_agents.status.model import IN_GRACE, NOT_READY, READY, LocalView, Status, Verdict
from ganesha_agents.status.verdict import READY_SUMMARY, judge

DATA = Path(__file__).resolve().parents[1] / "data" / "status"


def fixture(name: str) -> bytes:
    return (DATA / f"{name}.xml").read_bytes()


def status_of(name: str, local: LocalView | None = None) -> tuple[Status, Verdict]:
    status = build(parse(fixture(name)), local)
    return status, judge(status)


def healthy_local(node: str = "node1", *, in_grace: bool | None = False) -> LocalView:
    return LocalView(node, True, "pid 42 holds the lock", in_grace, "get_grace over D-Bus")


def test_healthy_cluster_is_ready() -> None:
    status, verdict = status_of("healthy", healthy_local())
    assert verdict.state == READY and verdict.ready
    assert verdict.summary == READY_SUMMARY
    assert verdict.problems == ()
    assert status.layout == "takeover"
    assert [n.membership for n in status.nodes] == ["online"] * 3
    assert [(v.resource, v.holders, v.at_home) for v in status.vips] == [
        (f"node{i}-cluster_ip-1", (f"node{i}",), True) for i in (1, 2, 3)
    ]
    node1 = status.nodes[0]
    assert node1.local and node1.ganesha.source == "pid-file" and node1.grace.value is False
    assert status.nodes[1].ganesha.source == "attributes"
    assert (status.nodes[1].grace.value, status.nodes[1].grace.source) == (False, "attribute")
    assert dict(status.nodes[1].takeover)["node2-takeover-clone"] == "Promoted"


def test_the_37_layout_is_recognised_and_ready() -> None:
    status, verdict = status_of("healthy-3.7")
    assert status.layout == "3.7"
    assert [n.nfs_grace for n in status.nodes] == ["Started"] * 3
    assert verdict.state == READY


def test_a_dead_daemon_is_named_and_its_address_is_away() -> None:
    status, verdict = status_of("daemon-dead")
    assert verdict.state == NOT_READY
    assert verdict.problems == (
        "node2: ganesha.nfsd is not running (ganesha_mon runs and ganesha-active is not set)",
        "node2-cluster_ip-1 runs on node1, away from its home node2 "
        "(back when node2 is ready again)",
    )
    node2 = status.nodes[1]
    assert node2.ganesha.value is False and node2.attributes["ganesha-active"] is None


def test_the_local_pid_file_overrides_what_is_published() -> None:
    """On the node that runs the command, the pid file's lock is the answer."""
    dead_here = LocalView("node2", False, "no live pid", None, "ganesha.nfsd is not running")
    status, verdict = status_of("healthy", dead_here)
    assert status.nodes[1].ganesha.value is False
    assert status.nodes[1].ganesha.source == "pid-file"
    assert verdict.problems == ("node2: ganesha.nfsd is not running (no live pid)",)


def test_in_grace_is_its_own_verdict() -> None:
    _status, verdict = status_of("healthy", healthy_local(in_grace=True))
    assert verdict.state == IN_GRACE and not verdict.ready
    assert verdict.problems == ()
    assert verdict.waiting == ("node1: ganesha.nfsd is in grace",)
    assert "in NFS grace on node1" in verdict.summary


def published(name: str, node: str, value: str) -> bytes:
    """A fixture with ``ganesha-grace=value`` published for ``node``."""
    root = etree.fromstring(fixture(name))
    listed = root.find("node_attributes")
    assert listed is not None
    attributes = listed.find(f"node[@name='{node}']")
    if attributes is None:
        attributes = etree.SubElement(listed, "node", name=node)
    etree.SubElement(attributes, "attribute", name="ganesha-grace", value=value)
    return etree.tostring(root)


def test_a_grace_published_by_another_node_is_its_own_verdict() -> None:
    status = build(parse(published("healthy", "node3", "1764529200")), healthy_local())
    verdict = judge(status)
    node3 = status.nodes[2]
    assert (node3.grace.value, node3.grace.source, node3.grace.since) == (
        True,
        "attribute",
        1764529200,
    )
    assert "since 2025-11-30 19:00:00 UTC" in node3.grace.detail
    assert "every 2s" in node3.grace.detail, "marked as published, with its lag"
    assert verdict.state == IN_GRACE
    assert verdict.waiting == ("node3: ganesha.nfsd is in grace (as its watcher published)",)
    assert "in NFS grace on node3" in verdict.summary
    document = render.as_dict(status, verdict)
    assert document["nodes"][2]["grace"] == {
        "in_grace": True,
        "source": "attribute",
        "detail": node3.grace.detail,
        "since": 1764529200,
    }
    assert document["nodes"][2]["attributes"] == {"ganesha-active": "1", "grace-active": "1"}
    assert "grace         in grace (attribute: ganesha-grace=1764529200" in render.text(
        status, verdict
    )


def test_the_local_node_asks_its_own_server_whatever_it_publishes() -> None:
    status = build(parse(published("healthy", "node1", "1764529200")), healthy_local())
    assert (status.nodes[0].grace.value, status.nodes[0].grace.source) == (False, "dbus")
    assert judge(status).state == READY


@pytest.mark.parametrize(
    ("name", "node", "value", "seen"),
    [
        ("daemon-dead", "node2", "1764529200", "it is not running: ganesha-grace is not read"),
        ("healthy", "node3", "soon", "ganesha-grace is 'soon', not an epoch second"),
        ("healthy", "node3", "١٢٣", "not an epoch second"),
    ],
)
def test_a_published_grace_is_not_trusted_where_it_cannot_be(
    name: str, node: str, value: str, seen: str
) -> None:
    status = build(parse(published(name, node, value)), healthy_local())
    (grace,) = [n.grace for n in status.nodes if n.name == node]
    assert grace.value is None and grace.source == "none" and seen in grace.detail
    assert not judge(status).waiting


def test_grace_with_problems_is_not_ready_and_lists_both() -> None:
    _status, verdict = status_of("daemon-dead", healthy_local(in_grace=True))
    assert verdict.state == NOT_READY
    assert verdict.waiting == ("node1: ganesha.nfsd is in grace",)
    # The text counts the problems and bullets them alone; the server in grace comes after.
    text = render.text(_status, verdict)
    tail = text[text.index("Verdict: ") :].splitlines()
    assert tail[0] == "Verdict: NOT ready to survive the loss of any one node: 2 problems"
    assert [line.startswith("  - ") for line in tail[1:]] == [True, True, False]
    assert tail[3] == "  also waiting: node1: ganesha.nfsd is in grace"


def test_a_fenced_node_is_offline() -> None:
    status, verdict = status_of("node-fenced")
    assert status.nodes[1].membership == "offline"
    assert status.nodes[1].ganesha.value is None
    assert verdict.problems[0] == "node2 is offline"
    assert "node2-cluster_ip-1 runs on node1, away from its home node2" in verdict.problems[1]


def test_an_unclean_node_is_reported_unclean() -> None:
    root = etree.fromstring(fixture("node-fenced"))
    node2 = root.find("nodes/node[@name='node2']")
    assert node2 is not None
    node2.set("unclean", "true")
    status = build(parse(etree.tostring(root)))
    assert status.nodes[1].membership == "unclean"
    assert judge(status).problems[0] == "node2 is unclean"


def test_a_standby_node_is_not_ready() -> None:
    status, verdict = status_of("standby")
    assert status.nodes[2].membership == "standby"
    assert verdict.problems[0] == "node3 is standby"


def test_an_address_moved_by_hand_is_away_from_home() -> None:
    status, verdict = status_of("vip-away")
    vip = next(v for v in status.vips if v.resource == "node2-cluster_ip-1")
    assert vip.holders == ("node3",) and not vip.at_home and vip.promoted == ("node3",)
    assert verdict.problems == (
        "node2-cluster_ip-1 runs on node3, away from its home node2 (is a crm_resource --move "
        "(cli-prefer) constraint left? crm_resource --clear)",
    )


def test_a_failed_promote_is_a_failed_action_and_a_banned_instance() -> None:
    status, verdict = status_of("failed-action")
    (failure,) = status.failures
    assert (failure.operation, failure.node, failure.exit_code) == (
        "node2-takeover_promote_0",
        "node1",
        1,
    )
    assert verdict.state == NOT_READY
    assert (
        "failed action: node2-takeover_promote_0 on node1: User-injected result "
        "(crm_resource --cleanup once the cause is fixed)"
    ) in verdict.problems
    assert any(p.startswith("node1: node2-takeover-clone is Stopped") for p in verdict.problems)


def test_no_dc_and_no_configuration_are_problems() -> None:
    root = etree.fromstring(fixture("healthy"))
    dc = root.find("summary/current_dc")
    assert dc is not None
    dc.attrib.clear()
    dc.set("present", "false")
    resources = root.find("resources")
    assert resources is not None
    root.remove(resources)
    verdict = judge(build(parse(etree.tostring(root))))
    assert verdict.problems[:2] == (
        "no DC: this node's cluster has elected no controller",
        "no ganesha_takeover or ganesha_grace resource: NFS-Ganesha HA is not configured",
    )


def test_a_failed_query_is_reported_from_its_status_element() -> None:
    document = (
        b'<pacemaker-result api-version="2.25" request="crm_mon">'
        b'<status code="102" message="Not connected"><errors>'
        b"<error>crm_mon: Error: cluster is not available on this node</error>"
        b"</errors></status></pacemaker-result>"
    )
    with pytest.raises(CrmMonError, match=r"failure 102 \(Not connected\): crm_mon: Error"):
        parse(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "printed nothing"),
        (b"<html/>", "not crm_mon's XML"),
        (b"<pacemaker-result><summary/>", "not XML"),
        (b"<pacemaker-result/>", "lists no nodes"),
        (
            b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<pacemaker-result><nodes><node name='&e;'/></nodes></pacemaker-result>",
            "external entity",
        ),
    ],
)
def test_bad_documents_are_clear_errors(document: bytes, message: str) -> None:
    """Not crm_mon's, cut short, or asking for a file: refused, with the reason."""
    with pytest.raises(CrmMonError, match=message):
        parse(document)


def test_json_document_has_the_documented_keys() -> None:
    status, verdict = status_of("failed-action", healthy_local())
    document = json.loads(json.dumps(render.as_dict(status, verdict)))
    assert set(document) == {
        "schema", "ok", "verdict", "cluster", "nodes", "vips", "failed_actions", "error",
    }  # fmt: skip
    assert document["schema"] == 1 and document["ok"] is False
    assert document["verdict"]["state"] == "not-ready"
    assert set(document["nodes"][0]) == {
        "name", "membership", "local", "ganesha", "grace", "attributes", "resources", "vips",
    }  # fmt: skip
    assert set(document["nodes"][0]["grace"]) == {"in_grace", "source", "detail", "since"}
    assert document["nodes"][0]["ganesha"] == {
        "alive": True,
        "source": "pid-file",
        "detail": "pid 42 holds the lock",
    }
    assert document["nodes"][1]["resources"]["takeover"]["node2-takeover-clone"] == "Unpromoted"
    assert document["failed_actions"][0]["operation"] == "node2-takeover_promote_0"
    assert set(document["vips"][0]) == {
        "resource",
        "home",
        "holders",
        "at_home",
        "failed",
        "promoted",
    }


def test_text_is_plain_unless_colour_is_asked_for() -> None:
    status, verdict = status_of("daemon-dead")
    plain = render.text(status, verdict)
    assert "\x1b[" not in plain
    assert "Verdict: NOT ready to survive the loss of any one node: 2 problems" in plain
    assert "  - node2: ganesha.nfsd is not running" in plain
    coloured = render.text(status, verdict, colour=True)
    assert "\x1b[31;1mNOT running\x1b[0m" in coloured


# --- robustness: whatever crm_mon (or something else) prints -------------------------------


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A fixture with elements dropped, attributes removed or rewritten, or cut short."""
    root = etree.fromstring(
        fixture(draw(st.sampled_from(sorted(p.stem for p in DATA.glob("*.xml")))))
    )
    elements = list(root.iter())
    for _ in range(draw(st.integers(0, 8))):
        element = draw(st.sampled_from(elements))
        choice = draw(st.sampled_from(["drop", "unset", "rewrite", "rename"]))
        parent = element.getparent()
        if choice == "drop" and parent is not None:
            parent.remove(element)
            elements = list(root.iter())
        elif choice == "unset" and element.attrib:
            del element.attrib[draw(st.sampled_from(sorted(element.attrib)))]
        elif choice == "rewrite" and element.attrib:
            value = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))))
            element.set(draw(st.sampled_from(sorted(element.attrib))), value)
        elif choice == "rename" and parent is not None:
            element.tag = draw(st.sampled_from(["node", "resource", "clone", "failure", "x"]))
    data = etree.tostring(root)
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_xml_gives_a_status_or_a_clear_error(document: bytes) -> None:
    try:
        state = parse(document)
    except CrmMonError as error:
        assert str(error)
        return
    status = build(state, healthy_local())
    verdict = judge(status)
    assert verdict.state in (READY, IN_GRACE, NOT_READY)
    assert verdict.ready == (not verdict.problems and not verdict.waiting)
    render.text(status, verdict, colour=True)
    json.dumps(render.as_dict(status, verdict))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_status_or_a_clear_error(document: bytes) -> None:
    try:
        build(parse(document))
    except CrmMonError as error:
        assert str(error)


# --- the command, with stand-ins for crm_mon and crm_node ------------------------------------


def _program(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    _program(tmp_path, "crm_node", "echo node1\n")
    return tmp_path


def _serve(directory: Path, name: str) -> None:
    _program(directory, "crm_mon", f"exec cat '{DATA / (name + '.xml')}'\n")


def test_command_prints_the_verdict_and_exits_by_it(on_path: Path) -> None:
    _serve(on_path, "daemon-dead")
    pid_file = on_path / "none.pid"
    done = CliRunner().invoke(main, ["status", "--pid-file", str(pid_file)])
    assert done.exit_code == 1, done.output
    assert "node1 (this node)  online" in done.output
    assert "Verdict: NOT ready" in done.output
    assert "\x1b[" not in done.output


def test_command_json(on_path: Path) -> None:
    _serve(on_path, "healthy")
    done = CliRunner().invoke(
        main, ["status", "--json", "--node", "node3", "--pid-file", "/nonexistent"]
    )
    document = json.loads(done.output)
    assert document["cluster"]["local_node"] == "node3"
    node3 = document["nodes"][2]
    assert node3["local"] and node3["ganesha"]["alive"] is False
    assert document["verdict"]["problems"][0].startswith("node3: ganesha.nfsd is not running")
    assert done.exit_code == 1


def test_command_watch_is_bounded_by_count(on_path: Path) -> None:
    _serve(on_path, "healthy")
    done = CliRunner().invoke(
        main, ["status", "--watch", "--count", "2", "--interval", "1", "--json", "--node", "x"]
    )
    lines = done.output.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["ok"] for line in lines)
    assert done.exit_code == 0


def test_command_when_crm_mon_fails(on_path: Path) -> None:
    _program(on_path, "crm_mon", "echo 'crm_mon: Error: cluster is not available' >&2; exit 102\n")
    done = CliRunner().invoke(main, ["status", "--json"])
    assert done.exit_code == 3
    document = json.loads(done.output)
    assert document["ok"] is False and "crm_mon failed: crm_mon exited 102" in document["error"]
    text = CliRunner().invoke(main, ["status"])
    assert text.exit_code == 3 and text.output.startswith("cannot read the cluster's state")


def test_count_needs_watch() -> None:
    done = CliRunner().invoke(main, ["status", "--count", "2"])
    assert done.exit_code == 2 and "--count goes with --watch" in done.output


def test_watch_ends_cleanly_on_ctrl_c(on_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(on_path, "vip-away")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ganesha_agents.status_cli.sleep", interrupted)
    done = CliRunner().invoke(main, ["status", "--watch", "--node", "x"])
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert done.exit_code == 1
    assert done.output.count("Verdict: NOT ready") == 1
    assert "Traceback" not in done.output
