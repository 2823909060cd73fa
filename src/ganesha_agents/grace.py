"""ganesha_grace: turns a node's lost health into NFS grace on the other nodes.

Cloned on every node with ``notify=true`` on the clone (``nfs-grace-clone``).
Its instance on a node lives while that node's ``grace-active`` attribute is
1; when ganesha_mon deletes the attribute, the instance stops, and Pacemaker
notifies the instances on the other nodes with a post-stop notification
naming the node.  Each of them then sends its local ganesha.nfsd one grace
call per stopped node, so the server takes over that node's clients in grace
(``5:NODE``: ganesha reads them from ``RecoveryRoot/NODE``).  A pre-start
notification (a node coming back: failback) puts the local server into plain
grace (``0:``).

Differences from the GlusterFS 3.7 agent, each for a reason:

- one grace call per stopped node: 3.7 passed the whole space-separated list
  as one argument, so two nodes failing in one transition meant no grace;
- the explicit ``5:`` event, so a node name with a colon is not misread as
  ``event:address``; the local node is never named;
- pre-start sends ``0:`` on purpose, instead of the empty node name 3.7 sent;
- start returns as soon as grace-active appears instead of sleeping 5 s;
- a probe or monitor of an instance that was never started answers 7;
- the grace calls of one notification share a budget of
  :data:`NOTIFY_BUDGET` seconds, and a local ganesha.nfsd that is not
  running ends them at once: Pacemaker waits for every notification before
  it goes on with the transition (and with every virtual IP in it), so a
  dead, hung or absent server must not hold it for long;
- the monitor asks attrd only when the local ganesha.nfsd is not running.

**Why the monitor may skip attrd while the daemon runs.**  What stops this
instance when its node fails is not the monitor but the clone's location
rule (``-INFINITY`` where ``grace-active`` is not 1): ganesha_mon deletes
the attribute, the scheduler stops the instance, and the post-stop
notifications go out.  The monitor's query only adds a failure report when
the attribute is already gone.  While the local daemon runs (its pid file's
lock, a few microseconds, no program started), ganesha_mon keeps
grace-active at 1 and writes it again whenever it may have been lost; if it
is gone anyway (deleted by hand, an attrd that restarted a moment ago) the
rule still stops the instance, exactly as when the monitor reported it.  So
that case answers 0 without the ``attrd_updater -Q`` that cost 11-24 ms on
a real node.  When the daemon is not running here, the monitor asks attrd
and answers as before: that is when grace-active is being deleted.
"""

from __future__ import annotations

from ganesha_agents.backends.errors import GaneshaNotRunning
from ganesha_agents.common import GaneshaAgent, pid_file_parameter
from ocfkit import (
    ExitCode,
    GenericError,
    NotRunningError,
    OCFError,
    Parameters,
    action,
    entry_point,
    parameter,
)

# How long start waits for ganesha_mon to set grace-active (3.7 slept this long).
START_WAIT = 5.0
START_POLL = 0.25
PLAIN_GRACE = "0:"
TAKE_OVER = "5:"

NOTIFY_BUDGET = 3.0
"""Seconds that all grace calls of one notification may take together.

A grace call to a healthy ganesha.nfsd takes some 50 ms from a fresh process
(most of it importing the D-Bus client), and a refusing or absent server is
given up on within a fraction of a second; what can take long is a server
that does not answer.  3 s lets a server blocked in a grace call (ganesha 4.x
waits there until no operation holds a grace reference) finish, while a
hung one holds the transition 3 s at most: well inside the notify
operation's 10 s timeout, so the notification always ends by itself.
"""


class GraceParameters(Parameters):
    grace_active: str = parameter(
        default="grace-active",
        shortdesc="Attribute that says this node is healthy",
        longdesc=(
            "Name of the transient node attribute that ganesha_mon sets to 1 while "
            "ganesha.nfsd runs on the node.  When it is deleted, this instance stops and "
            "the other nodes put their NFS servers into grace."
        ),
    )
    pid_file: str | None = pid_file_parameter(
        ", as given to ganesha_mon; while it shows a running daemon, the monitor answers "
        "without asking attrd"
    )


class GaneshaGrace(GaneshaAgent[GraceParameters]):
    """Puts the NFS servers into grace when a node's ganesha.nfsd fails

    Runs while this node's grace-active attribute is 1.  When another node's
    instance stops (its ganesha.nfsd died), the post-stop notification makes
    this node's ganesha.nfsd take over that node's clients in NFS grace, one
    D-Bus grace call per stopped node; a node coming back (pre-start) puts the
    local server into plain grace.
    """

    name = "ganesha_grace"
    notify_events = frozenset({"post-stop", "pre-start"})
    parameters = GraceParameters
    _grace_ends: float | None = None  # when the running notification's grace budget runs out

    def validate(self) -> None:
        self.check_pid_file()

    @action(timeout=40)
    def start(self) -> ExitCode:
        value = self.wait_for_attribute()
        if value is not None and value != "1":
            raise NotRunningError(
                f"{self.params.grace_active} is {value!r} on this node: ganesha.nfsd is not "
                "running here, not starting"
            )
        if value is None:
            self.log.info("%s not set yet: the cluster is coming up", self.params.grace_active)
        self.state.write()
        return ExitCode.SUCCESS

    @action(timeout=40)
    def stop(self) -> ExitCode:
        self.state.remove()
        return ExitCode.SUCCESS

    @action(timeout=10, interval=5, depth=0)
    @action(timeout=20, interval=60, name="status")
    def monitor(self) -> ExitCode:
        if not self.started:
            return ExitCode.NOT_RUNNING
        if self.daemon.is_alive():
            return ExitCode.SUCCESS  # see the module's docstring: the location rule decides
        value = self.attributes.query(self.params.grace_active)
        if value is None or value == "1":
            return ExitCode.SUCCESS
        raise GenericError(
            f"{self.params.grace_active} is {value!r} on this node: ganesha.nfsd is down here"
        )

    @action(timeout=10)
    def notify(self) -> ExitCode:
        """Always 0: Pacemaker only logs notify failures, and the next event must still come."""
        note = self.notification
        self._grace_ends = self.clock.monotonic() + NOTIFY_BUDGET
        try:
            if note.event == "post-stop":
                self.take_over(note.unames(note.stop))
            elif note.event == "pre-start":
                starting = [n for n in note.unames(note.start) if n != self.node_name]
                if starting:
                    self.log.info("%s coming back: plain grace", " ".join(starting))
                    self.grace(PLAIN_GRACE)
        except GaneshaNotRunning as error:
            self.log.warning("notify %s: %s", note.event, error.reason)
        except OCFError as error:
            self.log.error("notify %s: %s", note.event, error.reason)
        return ExitCode.SUCCESS

    def take_over(self, stopped: tuple[str, ...]) -> None:
        """One grace call per stopped node but this one; a failure does not stop the rest.

        A local server that is not running ends them all: it takes nothing
        over now, and starts in grace when it comes back.
        """
        failed: list[str] = []
        for node in stopped:
            if node == self.node_name:
                continue
            try:
                self.grace(TAKE_OVER + node)
            except GaneshaNotRunning:
                raise
            except OCFError as error:
                self.log.error("grace for %s failed: %s", node, error.reason)
                failed.append(node)
        if failed:
            raise GenericError(f"grace failed for {' '.join(failed)}")

    def grace(self, argument: str) -> None:
        """One grace call, with what is left of the notification's budget.

        The backend logs the call and ganesha's answer: once per call.
        """
        ends = self._grace_ends
        budget = None if ends is None else max(0.0, ends - self.clock.monotonic())
        self.daemon.grace(argument, budget=budget)

    def wait_for_attribute(self) -> str | None:
        """grace-active as soon as it exists, or None if it does not within START_WAIT.

        At cluster start nfs-grace may start before ganesha_mon has set the
        attribute (a two-node race 3.7 papered over with a fixed 5 s sleep).
        """
        waited_until = self.clock.monotonic() + min(START_WAIT, self.deadline.remaining())
        while True:
            value = self.attributes.query(self.params.grace_active)
            if value is not None or self.clock.monotonic() >= waited_until:
                return value
            self.deadline.sleep(min(START_POLL, waited_until - self.clock.monotonic()))


main = entry_point(GaneshaGrace)

if __name__ == "__main__":
    raise SystemExit(main())
