"""The NFS-Ganesha HA agents on the real engine: four Pacemaker nodes, four real ganesha.nfsd.

Each scenario breaks something the way it breaks in production (a daemon
killed, a link cut, a node fenced).  While it runs, a recorder samples from
the host what clients and the cluster could see: the VIPs on each node's
interface, each server's grace state on its bus, the node attributes.
Afterwards the agents' and Pacemaker's log lines give the precise times.
The test prints the timeline, adds its figures to ``reports/scenarios.*``,
and then checks the order of events the design promises.

Run as root: ``PYTHONPATH=src python -m pytest tests/scenarios -s``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path

import pytest

from ganesha_agents import state_volume
from ocfkit.lab import ganesha
from tests.scenarios.evidence import (
    MS,
    aborts,
    also_on,
    attrd_deleted,
    before,
    detection,
    fence_agent_done,
    fence_complete,
    first,
    ganesha_active_deleted,
    grace_calls,
    grace_periods,
    grace_transitions,
    is_one,
    is_true,
    not_one,
    notifications,
    notify_sent,
    only_on,
    op_done,
    revival,
    takeovers,
    vip_added,
)
from tests.scenarios.ha import (
    AGENTS,
    GRACE_PERIOD,
    MON_INTERVAL,
    PACEMAKER_ENV,
    PROVIDER,
    HaCluster,
    vip_resource,
)
from tests.scenarios.report import Report
from tests.scenarios.timeline import Event, Timeline

pytestmark = [pytest.mark.real, pytest.mark.lab]

#: The GlusterFS 3.7 shell agents measured on this kind of machine, printed alongside.
SHELL_37 = {
    "detection to last survivor in grace": 0.29,
    "detection to VIP up": 5.3,
    "VIP nowhere on failback": 5.2,
}


def all_true(nodes: Iterable[str]) -> Callable[[Mapping[str, Hashable]], bool]:
    wanted = list(nodes)
    return lambda values: all(values.get(n) is True for n in wanted)


def refused_in_grace(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode != 0 and "NFS4ERR_GRACE" in done.stdout + done.stderr


def client_view(done: subprocess.CompletedProcess[str]) -> str:
    if refused_in_grace(done):
        return "NFS4ERR_GRACE"
    return (done.stdout.strip() or done.stderr.strip() or f"exit {done.returncode}")[-200:]


def latest(events: Iterable[Event | None]) -> Event | None:
    """The last of the events, or None if any of them was not seen."""
    items = list(events)
    known = [e for e in items if e is not None]
    return max(known, key=lambda e: e.time) if known and len(known) == len(items) else None


def emit(report: Report, timeline: Timeline) -> None:
    report.add(timeline)
    print("\n" + timeline.render())


def wait_out_of_grace(ha: HaCluster, nodes: list[str]) -> None:
    ha.lab.wait_for(
        lambda: all(ha.lab.ganesha_in_grace(n) is False for n in nodes),
        GRACE_PERIOD + 10,
        f"{' '.join(nodes)} out of grace",
        interval=0.2,
    )


# -- 1. failover ------------------------------------------------------------------------------


def test_1_failover_when_ganesha_dies(healthy: HaCluster, report: Report) -> None:
    """kill -9 ganesha.nfsd on node2: the seed's five steps, in order; grace before the VIP."""
    ha, lab = healthy, healthy.lab
    dead = "node2"
    target, vip = ha.failover_target(dead), ha.vips[dead]
    survivors = ha.others(dead)
    clients = {s: ha.client_for(s, dead) for s in survivors}
    served = {s: ha.nfs_read(clients[s], lab.node_address(s)) for s in survivors}

    mark = ha.logs.mark()
    with ha.recorder() as rec:
        t0 = time.time()
        lab.kill_ganesha(dead)
        all_in_grace = rec.wait("grace", all_true(survivors), MON_INTERVAL + 10)
        during = {s: ha.nfs_read(clients[s], lab.node_address(s)) for s in survivors}
        moved = rec.wait("vip", lambda v: v.get(vip) == (target,), 20)
        via_vip = ha.nfs_read(clients[target], vip)
    lines, glog = ha.logs.since(mark), ha.logs.ganesha_since(mark)

    tl = Timeline("1 failover", f"kill -9 ganesha.nfsd on {dead}", t0)
    tl.add(f"ganesha.nfsd on {dead} killed", t0, "test", dead)
    detect = tl.log("ganesha_mon monitor: ganesha.nfsd is not running", detection(lines, dead))
    deleted = tl.log("grace-active deleted (attrd)", attrd_deleted(lines, dead, "grace-active"))
    tl.sampled("grace-active gone", rec.first("grace-active", dead, not_one, t0), dead)
    stopped = tl.log("nfs-grace stopped", op_done(lines, "nfs-grace", "stop", dead))
    notified = {
        s: tl.log(
            f"DC sends {s} the post-stop notification", notify_sent(lines, s, "post_notify_stop")
        )
        for s in survivors
    }
    graced = {
        s: tl.log(f"post-stop notify: grace('5:{dead}')", first(grace_calls(lines, s, f"5:{dead}")))
        for s in survivors
    }
    in_grace = {
        s: tl.sampled("in grace (get_grace)", rec.first("grace", s, is_true, t0), s)
        for s in survivors
    }
    gone = tl.log("ganesha_mon: ganesha-active deleted", ganesha_active_deleted(lines, dead))
    tl.sampled("ganesha-active gone", rec.first("ganesha-active", dead, not_one, t0), dead)
    up = tl.log(f"VIP {vip} added", vip_added(lines, target, vip))
    seen = tl.sampled(f"VIP {vip} on {target}", rec.first("vip", vip, only_on(target), t0), target)

    last, last_seen = latest(graced.values()), latest(in_grace.values())
    tl.interval("kill to detection", t0, detect)
    tl.interval("detection to grace-active deleted", detect, deleted)
    tl.interval("detection to nfs-grace stopped", detect, stopped)
    tl.interval("detection to last survivor in grace", detect, last)
    tl.interval("detection to ganesha-active deleted", detect, gone)
    tl.interval("detection to VIP up", detect, up)
    tl.interval("detection to last survivor in grace (sampled)", detect, last_seen)
    tl.interval("detection to VIP up (sampled)", detect, seen)
    tl.interval("last survivor in grace to VIP up", last, up)
    tl.observations["NFS read before the kill"] = {s: client_view(d) for s, d in served.items()}
    tl.observations["NFS read once in grace"] = {s: client_view(d) for s, d in during.items()}
    tl.observations[f"NFS read via {vip} just after it moved"] = client_view(via_vip)
    tl.observations["grace calls per notification"] = {
        s: notifications(lines, s) for s in survivors
    }
    tl.observations["3.7 shell agents"] = SHELL_37
    tl.observations["recorder"] = rec.statistics()
    emit(report, tl)

    for s, done in served.items():
        assert done.returncode == 0 and done.stdout == f"served by {s}\n", (s, done)
    assert all_in_grace, "not every survivor entered grace"
    assert moved, f"{vip} did not come up on {target}"
    for s in survivors:
        assert len(grace_calls(lines, s, f"5:{dead}")) == 1, notifications(lines, s)
        assert takeovers(glog, s, dead) == 1, glog[s]
        assert refused_in_grace(during[s]), (s, during[s])
    # A client that follows the VIP meets a server in grace.
    assert refused_in_grace(via_vip), via_vip
    # The five steps in order, from the agents' and Pacemaker's own stamps.
    assert detect and deleted and stopped and last and gone and up, tl.render()
    assert before(detect.time, deleted.time, MS)
    assert before(deleted.time, stopped.time)
    for s in survivors:
        sent, call = notified[s], graced[s]
        assert (
            sent and call and before(stopped.time, sent.time) and before(sent.time, call.time, MS)
        )
    assert before(last.time, gone.time)
    assert before(gone.time, up.time, MS)
    # And from the samples alone: every survivor answered "in grace" before the
    # VIP was on its new node (the sample intervals do not even overlap).
    assert seen is not None and all(in_grace.values())
    for s, event in in_grace.items():
        assert event is not None and event.time < (seen.earliest or seen.time), (s, event, seen)


# -- 2. failback ------------------------------------------------------------------------------


def _failed_over(ha: HaCluster, dead: str) -> bool:
    return (
        ha.lab.ganesha_in_grace(dead) is None
        and ha.vip_holders().get(ha.vips[dead]) == (ha.failover_target(dead),)
        and ha.attributes("ganesha-active").get(dead) != "1"
    )


def test_2_failback_without_cleanup(ha: HaCluster, report: Report) -> None:
    """ganesha.nfsd on node2 again: attributes, nfs-grace, VIP home, plain grace; no cleanup."""
    lab, dead = ha.lab, "node2"
    target, vip = ha.failover_target(dead), ha.vips[dead]
    survivors = ha.others(dead)
    if not _failed_over(ha, dead):  # run alone, or after scenario 1 failed
        ha.restore()
        lab.kill_ganesha(dead)
        lab.wait_for(lambda: _failed_over(ha, dead), MON_INTERVAL + 20, f"{dead} failed over")
    wait_out_of_grace(ha, survivors)
    failures_before = set(ha.failed_actions())

    mark = ha.logs.mark()
    with ha.recorder() as rec:
        t0 = time.time()
        lab.start_ganesha(dead)
        home = rec.wait("vip", lambda v: v.get(vip) == (dead,), MON_INTERVAL + 20)
        lab.wait_for(
            lambda: lab.idle() and dead in lab.status().started_on("nfs-grace-clone"),
            30,
            f"nfs-grace running on {dead}",
            interval=0.2,
        )
    lines, glog = ha.logs.since(mark), ha.logs.ganesha_since(mark)
    new_failures = sorted(set(ha.failed_actions()) - failures_before)

    tl = Timeline("2 failback", f"ganesha.nfsd started again on {dead}", t0)
    tl.add(f"ganesha.nfsd on {dead} started", t0, "test", dead)
    revived = tl.log("ganesha_mon monitor: ganesha.nfsd runs", revival(lines, dead))
    for name in ("grace-active", "ganesha-active"):
        tl.sampled(f"{name}=1", rec.first(name, dead, is_one, t0), dead)
    started = tl.log("nfs-grace started", op_done(lines, "nfs-grace", "start", dead))
    for s in survivors:
        tl.log(
            f"DC sends {s} the pre-start notification", notify_sent(lines, s, "pre_notify_start")
        )
    plain = {
        s: tl.log("pre-start notify: grace('0:')", first(grace_calls(lines, s, "0:")))
        for s in survivors
    }
    for s in survivors:
        tl.sampled("in grace (get_grace)", rec.first("grace", s, is_true, t0), s)
    stop = tl.log(f"VIP stopped on {target}", op_done(lines, vip_resource(dead), "stop", target))
    up = tl.log(f"VIP {vip} added", vip_added(lines, dead, vip))
    left = tl.sampled(
        f"VIP {vip} gone from {target}", rec.first("vip", vip, lambda v: v != (target,), t0), target
    )
    back = tl.sampled(f"VIP {vip} on {dead}", rec.first("vip", vip, only_on(dead), t0), dead)

    tl.interval("start to detection", t0, revived)
    tl.interval("detection to nfs-grace started", revived, started)
    tl.interval("detection to last survivor in plain grace", revived, latest(plain.values()))
    tl.interval("detection to VIP home", revived, up)
    tl.interval("VIP nowhere (logs: stop done to add)", stop, up)
    if left and back and left.earliest is not None and back.earliest is not None:
        tl.figure("VIP nowhere (sampled, at most)", back.time - left.earliest)
        tl.figure("VIP nowhere (sampled, at least)", max(back.earliest - left.time, 0.0))
    tl.observations["plain grace calls per survivor"] = {
        s: len(grace_calls(lines, s, "0:")) for s in survivors
    }
    tl.observations["grace periods started per survivor (ganesha.log)"] = {
        s: grace_periods(glog, s) for s in survivors
    }
    tl.observations["grace calls by the returning node"] = notifications(lines, dead)
    tl.observations["transitions starting nfs-grace"] = [
        f"{t.number} on {t.dc}: {' '.join(t.nodes)}" for t in grace_transitions(lines, "Start")
    ]
    tl.observations["transitions aborted"] = aborts(lines)
    tl.observations["new failed actions"] = new_failures
    tl.observations["3.7 shell agents"] = SHELL_37
    emit(report, tl)

    assert home, f"{vip} did not come home to {dead}"
    assert revived and started and up, tl.render()
    # nfs-grace came back by itself: nothing cleaned up, nothing failed.
    assert dead in lab.status().started_on("nfs-grace-clone")
    assert new_failures == []
    assert ha.attributes("grace-active").get(dead) == "1"
    # The survivors, and only they, went into plain grace, before the VIP came home.
    # (Twice when attrd's two updates reach the DC apart: see docs/scenarios.md.)
    assert notifications(lines, dead) == [], "the returning node put itself into grace"
    for s, event in plain.items():
        assert event is not None and before(event.time, up.time), (s, event, up)
        assert 1 <= len(grace_calls(lines, s, "0:")) <= 2, notifications(lines, s)


# -- 3. a node lost ---------------------------------------------------------------------------


def test_3_node_lost_is_fenced_and_survivors_take_over(healthy: HaCluster, report: Report) -> None:
    """node3's link goes down: fenced, survivors take its clients in grace, then its VIP moves."""
    ha, lab = healthy, healthy.lab
    lost = "node3"
    target, vip = ha.failover_target(lost), ha.vips[lost]
    survivors = ha.others(lost)
    witness = survivors[0]

    dc = lab.status(witness).dc
    mark = ha.logs.mark()
    with ha.recorder() as rec:
        t0 = time.time()
        lab.link_down(lost)
        fenced = lab.wait_for(
            lambda: [e for e in lab.fence_history(witness) if e.target == lost and e.succeeded],
            60,
            f"{lost} fenced",
            interval=0.2,
        )
        moved = rec.wait("vip", lambda v: also_on(target)(v.get(vip)), 30)
        lab.wait_for(lambda: lab.idle(witness), 30, "the DC idle")
    lines, glog = ha.logs.since(mark), ha.logs.ganesha_since(mark)

    tl = Timeline("3 node lost", f"link of {lost} down", t0)
    tl.add(f"{lost}: link down", t0, "test", lost)
    fence_done = tl.log(f"{lost} fenced", fence_complete(lines, lost))
    for s in survivors:
        tl.log(
            f"DC sends {s} the post-stop notification", notify_sent(lines, s, "post_notify_stop")
        )
    graced = {
        s: tl.log(f"post-stop notify: grace('5:{lost}')", first(grace_calls(lines, s, f"5:{lost}")))
        for s in survivors
    }
    for s in survivors:
        tl.sampled("in grace (get_grace)", rec.first("grace", s, is_true, t0), s)
    up = tl.log(f"VIP {vip} added", vip_added(lines, target, vip))
    tl.sampled(f"VIP {vip} on {target}", rec.first("vip", vip, also_on(target), t0), target)
    last = latest(graced.values())
    tl.interval("link down to fenced", t0, fence_done)
    tl.interval("link down to last survivor in grace", t0, last)
    tl.interval("link down to VIP up", t0, up)
    tl.interval("fenced to last survivor in grace", fence_done, last)
    tl.interval("fenced to VIP up", fence_done, up)
    tl.observations["DC before"] = dc
    tl.observations["fence history"] = [f"{e.action} {e.target}: {e.status}" for e in fenced]
    tl.observations["transitions stopping nfs-grace"] = [
        f"{t.number} on {t.dc}: {' '.join(t.nodes)}" for t in grace_transitions(lines, "Stop")
    ]

    # Bring it back; it comes home by itself.
    mark = ha.logs.mark()
    t_boot = time.time()
    tl.add(f"{lost} booted", t_boot, "test", lost)
    lab.boot(lost)
    ha.restore()
    after = ha.logs.since(mark)
    home = tl.log(f"VIP {vip} added on {lost} again", vip_added(after, lost, vip))
    tl.interval("boot to VIP home", t_boot, home)
    tl.interval("boot to healthy (grace periods over)", t_boot, time.time())
    tl.observations["grace calls when it came back"] = {
        s: notifications(after, s) for s in survivors
    }
    emit(report, tl)

    assert moved, f"{vip} did not come up on {target}"
    assert fence_done and up and last, tl.render()
    for s in survivors:
        assert len(grace_calls(lines, s, f"5:{lost}")) == 1, notifications(lines, s)
        assert takeovers(glog, s, lost) == 1, glog[s]
    # Fencing put nfs-grace's stop and the VIP's start into one transition, where
    # "stop nfs-grace-clone then start VIP" orders them: grace first.
    assert before(last.time, up.time), tl.render()
    assert home is not None, "the VIP did not come home"


# -- 4. two daemons die -----------------------------------------------------------------------


def force_monitors(ha: HaCluster, nodes: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """nfs-mon's monitor on each node at the same moment, with ``crm_resource --force-check``.

    Pacemaker runs ganesha_mon's monitor every 10 s on each node's own
    schedule, so two deaths are normally noticed seconds apart.  The forced
    check runs the same agent with the same instance and parameters,
    through Pacemaker's own tool; both start before either has finished
    importing.  They log where the cluster's actions do.
    """
    env = {**os.environ, **PACEMAKER_ENV}
    started = [
        subprocess.Popen(
            ha.lab.in_node(node, ["crm_resource", "--force-check", "-r", "nfs-mon"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for node in nodes
    ]
    results = []
    for process in started:
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_4_two_daemons_die_at_once(healthy: HaCluster, report: Report) -> None:
    """ganesha.nfsd dies on node2 and node4 together: one grace per dead node on each survivor."""
    ha, lab = healthy, healthy.lab
    dead = ["node2", "node4"]
    survivors = ha.others(*dead)
    targets = {d: ha.failover_target(d) for d in dead}

    mark = ha.logs.mark()
    with ha.recorder() as rec:
        t0 = time.time()
        for node in dead:
            lab.kill_ganesha(node)
        forced = force_monitors(ha, dead)
        moved = rec.wait("vip", lambda v: all(v.get(ha.vips[d]) == (targets[d],) for d in dead), 30)
        lab.wait_for(lambda: lab.idle(), 30, "the DC idle")
    lines, glog = ha.logs.since(mark), ha.logs.ganesha_since(mark)

    tl = Timeline("4 two daemons die", f"kill -9 ganesha.nfsd on {' and '.join(dead)}", t0)
    detections = {}
    for d in dead:
        tl.add(f"ganesha.nfsd on {d} killed", t0, "test", d)
        detections[d] = tl.log("ganesha_mon: ganesha.nfsd is not running", detection(lines, d))
        tl.log("grace-active deleted (attrd)", attrd_deleted(lines, d, "grace-active"))
        tl.log("nfs-grace stopped", op_done(lines, "nfs-grace", "stop", d))
    graced = [
        tl.log(f"grace('5:{d}')", first(grace_calls(lines, s, f"5:{d}")))
        for s in survivors
        for d in dead
    ]
    for s in survivors:
        tl.sampled("in grace (get_grace)", rec.first("grace", s, is_true, t0), s)
    ups = [
        tl.log(f"VIP {ha.vips[d]} added", vip_added(lines, targets[d], ha.vips[d])) for d in dead
    ]
    transitions = grace_transitions(lines, "Stop")
    together = any(sorted(t.nodes) == dead for t in transitions)
    per_survivor = {s: notifications(lines, s) for s in survivors}
    found = [e for e in detections.values() if e]
    earliest = min(found, key=lambda e: e.time) if found else None
    if len(found) == 2:
        tl.figure("detections apart", abs(found[0].time - found[1].time))
    tl.interval("first detection to last survivor grace", earliest, latest(graced))
    tl.interval("first detection to last VIP up", earliest, latest(ups))
    tl.observations["both deletions in one transition"] = together
    tl.observations["transitions stopping nfs-grace"] = [
        f"{t.number} on {t.dc}: {' '.join(t.nodes)}" for t in transitions
    ]
    tl.observations["grace calls per notification, per survivor"] = per_survivor
    emit(report, tl)

    assert [f.returncode for f in forced] == [0, 0], forced
    assert moved, "the VIPs did not move to their failover nodes"
    assert all(detections.values()), tl.render()
    for s in survivors:
        for d in dead:
            assert len(grace_calls(lines, s, f"5:{d}")) == 1, (s, per_survivor[s])
            assert takeovers(glog, s, d) == 1, (s, d, glog[s])
    if together:
        # One post-stop notification naming both: one notify action made both calls.
        for s in survivors:
            assert [sorted(calls) for calls in per_survivor[s]] == [[f"5:{d}" for d in dead]]
    last_up = latest(ups)
    assert last_up is not None and all(e is not None for e in graced), tl.render()
    assert all(before(e.time, min(u.time for u in ups if u)) for e in graced if e)


# -- 5. ocf-tester ----------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_5_ocf_tester_passes_on_the_installed_shim(
    healthy: HaCluster, report: Report, agent: str
) -> None:
    """Debian's ocf-tester inside a node, against the shim at the path the node sees."""
    ha, lab = healthy, healthy.lab
    node, instance = "node1", "scenario-ocf-tester"
    path = f"/usr/lib/ocf/resource.d/{PROVIDER}/{agent}"
    t0 = time.time()
    done = lab.exec(node, ["ocf-tester", "-n", instance, path], timeout=300)
    tl = Timeline(f"5 ocf-tester {agent}", f"ocf-tester -n {instance} {path} on {node}", t0)
    tl.interval("ocf-tester run", t0, time.time())
    tl.observations["verdict"] = (done.stdout.strip().splitlines() or [""])[-1]
    left = lab.exec(node, ["find", "/run/resource-agents", "-name", f"*{instance}*"], timeout=15)
    emit(report, tl)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{path} passed all tests" in done.stdout
    assert left.stdout.strip() == "", "ocf-tester left state behind"
    assert ha.problems() == [], "ocf-tester disturbed the cluster"


# -- 6. external fencing ----------------------------------------------------------------------


def test_6_external_fencing(healthy: HaCluster, report: Report) -> None:
    """stonith_admin --reboot node2, nothing dead before: do the survivors enter grace first?"""
    ha, lab = healthy, healthy.lab
    victim = "node2"
    target, vip = ha.failover_target(victim), ha.vips[victim]
    survivors = ha.others(victim)
    witness = survivors[0]

    dc = lab.status(witness).dc
    mark = ha.logs.mark()
    with ha.recorder() as rec:
        t0 = time.time()
        lab.fence(victim, via=witness)
        returned = time.time()
        # The switched-off node keeps the address on its dead link, as a powered-off one would.
        moved = rec.wait("vip", lambda v: also_on(target)(v.get(vip)), 30)
        via_vip = ha.nfs_read(ha.client_for(target, victim), vip)
        lab.wait_for(lambda: lab.idle(witness), 30, "the DC idle")
        time.sleep(1.0)  # room for a late notification, should one come
    lines, glog = ha.logs.since(mark), ha.logs.ganesha_since(mark)

    tl = Timeline("6 external fencing", f"stonith_admin --reboot {victim}", t0)
    tl.add("stonith_admin --reboot", t0, "test", witness)
    off = tl.log(f"{victim} switched off (fence agent returned)", fence_agent_done(lines))
    complete = tl.log("fencing complete", fence_complete(lines, victim))
    tl.add("stonith_admin returned", returned, "test", witness)
    graced = {
        s: tl.log(f"grace('5:{victim}')", first(grace_calls(lines, s, f"5:{victim}")))
        for s in survivors
    }
    for s in survivors:
        tl.sampled("in grace (get_grace)", rec.first("grace", s, is_true, t0), s)
    up = tl.log(f"VIP {vip} added", vip_added(lines, target, vip))
    tl.sampled(f"VIP {vip} on {target}", rec.first("vip", vip, also_on(target), t0), target)
    transitions = grace_transitions(lines, "Stop")
    stop_scheduled = any(victim in t.nodes for t in transitions)
    first_grace = {
        s: before(e.time if e else None, up.time if up else None) for s, e in graced.items()
    }
    tl.interval("request to node switched off", t0, off)
    tl.interval("request to fencing complete", t0, complete)
    tl.interval("switched off to VIP up", off, up)
    tl.interval("fencing complete to VIP up", complete, up)
    tl.observations["DC before"] = dc
    tl.observations["nfs-grace stop scheduled for the fenced node"] = stop_scheduled
    tl.observations["each survivor in grace before the VIP came up"] = first_grace
    tl.observations["grace calls per survivor (agents)"] = {
        s: len(grace_calls(lines, s, f"5:{victim}")) for s in survivors
    }
    tl.observations["takeovers per survivor (ganesha.log)"] = {
        s: takeovers(glog, s, victim) for s in survivors
    }
    tl.observations[f"NFS read via {vip} just after it moved"] = client_view(via_vip)
    emit(report, tl)

    assert any(e.target == victim and e.succeeded for e in lab.fence_history(witness))
    assert moved and up, f"{vip} did not come up on {target}"
    assert set(first_grace) == set(survivors) and off is not None, tl.render()
    if stop_scheduled:
        # Only then is there a stop for "stop nfs-grace-clone then start VIP" to order.
        assert all(first_grace.values()), first_grace


# -- RecoveryRoot -----------------------------------------------------------------------------


def test_grace_for_a_node_without_recovery_directory(healthy: HaCluster, report: Report) -> None:
    """ganesha 4.3 enters grace for "5:NODE" even when RecoveryRoot/NODE does not exist."""
    ha, lab = healthy, healthy.lab
    node, absent = "node1", "nodeless"
    recov = Path(state_volume.recovery_root(ha.volume, node)) / absent
    mark = ha.logs.mark()
    t0 = time.time()
    reply = ganesha.admin_call(lab.layout.bus_socket(node), "grace", f"5:{absent}")
    in_grace = lab.ganesha_in_grace(node)
    said = [line for line in ha.logs.ganesha_since(mark)[node] if f"{recov}/v4recov" in line]
    tl = Timeline("RecoveryRoot/NODE missing", f"grace('5:{absent}') on {node}", t0)
    tl.observations["reply"] = reply
    tl.observations["in grace"] = in_grace
    tl.observations["ganesha.log"] = [line.split(" :", 3)[-1].strip() for line in said]
    emit(report, tl)

    assert not recov.exists()
    assert reply == ["boolean true", 'string "Started grace period"'], reply
    assert in_grace is True
    assert any("Failed to open v4 recovery dir" in line for line in said), said
