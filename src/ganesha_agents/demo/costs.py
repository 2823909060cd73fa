"""How long things take in the takeover demo's virtual time, and where each figure comes from.

Virtual time is only as meaningful as these durations.  Each is a rounded
figure measured on this project's lab (a real Pacemaker 2.1.5 + Corosync
cluster with real ganesha.nfsd, nodes of 2 cores) or a documented default of
the cluster stack; none is tuned to make a result look good.  What is not
modelled at all is said here too, so nobody reads more into a figure than it
holds.

Not modelled: the controller's own hop between one action's result and the
next action's start (a few milliseconds each), recurring monitors (ganesha_mon's
watcher notices first; the monitors are the safety net), the load the other
nodes' actions put on a node beyond Pacemaker's own job limit, and the growth
of the scheduler's own run time with the cluster: ``crm_simulate --profile``
on this layout's whole start-up transition took 0.023 s with 4 nodes, 0.36 s
with 16 and 2.0 s with 32 (Pacemaker 2.1.5, this project's loaded 2-core
machine), so at 16 and 32 nodes every transition may start that much later
than ``TRANSITION_DELAY`` says.
"""

from __future__ import annotations

#: One agent action run as Pacemaker runs it, a process of its own: interpreter,
#: imports, the action.  docs/performance.md: 15-27 ms for ocfkit agents on this
#: machine; ganesha_mon's healthy monitor 20 ms against stand-ins.
AGENT_PROCESS = 0.025

#: One grace call to ganesha.nfsd over D-Bus with its ``get_grace`` confirmation,
#: the D-Bus client's import included.  docs/performance.md: a notification
#: with one grace call 63 ms median, 85 ms p90; 77 ms inside a real node.
GRACE_CALL = 0.080

#: One ``attrd_updater`` run inside a real node (11-24 ms measured).
ATTRIBUTE_UPDATE = 0.015

#: IPaddr2 start (the address added, gratuitous ARP sent in the background):
#: about 100 ms in the lab's logs; its stop is taken to cost the same.
VIP_ACTION = 0.100

#: From a CIB change (an attribute written by attrd, a node's state, a
#: constraint) to the DC's new transition starting: attrd's write plus the
#: scheduler's run (the lab: about 50 ms).
TRANSITION_DELAY = 0.050

#: From ganesha.nfsd's death (or restart) to ganesha_mon acting on it: its
#: watcher waits on the daemon's process and pid file (noticed within 0.2 s).
DETECTION = 0.100

#: A fence agent switching a node off (the lab: 0.079-0.091 s after the request).
FENCE_ACTION = 0.090

#: Actions Pacemaker runs at once on one node: its ``node-action-limit`` default,
#: twice the number of cores, for the lab's 2-core nodes.
NODE_ACTION_LIMIT = 4

#: Corosync's ``token`` as the lab sets it, and its ``token_coefficient`` default.
TOKEN = 1.0
TOKEN_COEFFICIENT = 0.650
#: ``consensus`` defaults to 1.2 times the (effective) token timeout.
CONSENSUS_FACTOR = 1.2

#: ganesha.nfsd's default grace period (``Grace_Period``), which the fakes keep too.
GRACE_PERIOD = 90.0

#: ganesha_takeover's ``failure-timeout`` in the takeover configuration.
FAILURE_TIMEOUT = 60.0

#: Pacemaker's INFINITY score.
INFINITY = 1_000_000


def membership_loss(nodes: int) -> float:
    """Seconds from a node going silent to the others forming a membership without it.

    Corosync declares the token lost after ``token + (nodes - 2) *
    token_coefficient`` (with 3 nodes or more), then waits ``consensus`` (1.2
    times that) before the new membership: 5.06 s with 4 nodes, against
    5.1 s measured in the lab.  It grows with the cluster unless ``token``
    is lowered.
    """
    token = TOKEN + max(0, nodes - 2) * TOKEN_COEFFICIENT
    return token * (1 + CONSENSUS_FACTOR)


def describe(*sizes: int) -> str:
    """The durations in one paragraph, for the demo's output (membership loss at each size)."""
    lost = ", ".join(f"{membership_loss(n):.2f} s with {n} nodes" for n in sizes)
    return (
        f"Durations (virtual time): an agent process {ms(AGENT_PROCESS)}, a grace call "
        f"with its get_grace {ms(GRACE_CALL)}, an attrd_updater {ms(ATTRIBUTE_UPDATE)}, "
        f"IPaddr2 start or stop {ms(VIP_ACTION)}, attrd + scheduler {ms(TRANSITION_DELAY)}, "
        f"detection by ganesha_mon's watcher {ms(DETECTION)}, a fence agent "
        f"{ms(FENCE_ACTION)}, at most {NODE_ACTION_LIMIT} actions at once per node; "
        f"corosync declares a silent node lost after {lost} (token {ms(TOKEN)} + "
        f"{ms(TOKEN_COEFFICIENT)} per node beyond two, consensus {CONSENSUS_FACTOR} times "
        "that).  Measured on the project's lab (src/ganesha_agents/demo/costs.py)."
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
