"""ganesha_mon: watches the local ganesha.nfsd and signals its health through node attributes.

Cloned on every node (``nfs-mon-clone``).  It never fails because of the
daemon: while ganesha.nfsd runs it keeps ``ganesha-active=1`` and
``grace-active=1`` set on this node; when the daemon is gone it deletes
``grace-active`` first, waits ``grace_delay`` seconds, then deletes
``ganesha-active``.  The first deletion stops this node's nfs-grace instance,
whose post-stop notification puts the surviving servers into NFS grace; the
second moves the virtual IP.  The wait is what orders the two: survivors are
in grace before the address they will take over comes up there.

Differences from the GlusterFS 3.7 agent, each for a reason:

- a probe or monitor of an instance that was never started answers 7, so the
  cluster (and ocf-tester) can tell "not running" from "running";
- liveness comes from the pid file's lock, not from ``/proc/$(cat pidfile)``,
  which a stale or half-rewritten pid file fooled;
- the wait runs once per failure, not on every monitor while the daemon
  stays dead, and it never runs past the monitor's deadline;
- attribute tool failures are reported (exit reason, OCF_ERR_GENERIC) rather
  than ignored: the cluster then restarts the monitor instead of trusting it.
"""

from __future__ import annotations

from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES
from ganesha_agents.common import GaneshaAgent
from ocfkit import (
    ConfigurationError,
    ExitCode,
    Integer,
    OCFError,
    Parameters,
    action,
    entry_point,
    parameter,
)

# Time kept for the attribute updates around the wait; grace_delay must leave it.
ATTRIBUTE_UPDATE_RESERVE = 2
MONITOR_TIMEOUT = 10
# What the state file says once the failover sequence has completed.
SIGNALLED_DOWN = "down"
RUNNING = "up"


class MonParameters(Parameters):
    ganesha_active: str = parameter(
        default="ganesha-active",
        shortdesc="Attribute that says ganesha.nfsd runs here",
        longdesc=(
            "Name of the transient node attribute set to 1 while ganesha.nfsd runs on the "
            "node.  The virtual IPs are only allowed where it is 1: deleting it moves them."
        ),
    )
    grace_active: str = parameter(
        default="grace-active",
        shortdesc="Attribute that keeps nfs-grace running here",
        longdesc=(
            "Name of the transient node attribute set to 1 while ganesha.nfsd runs.  Deleting "
            "it stops this node's nfs-grace instance, which puts the other servers into grace."
        ),
    )
    grace_delay: int = parameter(
        default=5,
        type=Integer(min=0),
        shortdesc="Seconds between the two deletions",
        longdesc=(
            "How long to wait after deleting grace-active before deleting ganesha-active, so "
            "that the other servers are in NFS grace before a virtual IP moves to them.  It "
            "must fit inside the monitor timeout, with time left for the attribute updates; "
            "when changing it, adjust the ganesha_grace monitor interval to match."
        ),
    )
    pid_file: str | None = parameter(
        default=None,
        shortdesc="ganesha.nfsd pid file",
        longdesc=(
            "The pid file of the ganesha.nfsd to watch.  By default the first that exists of "
            + ", ".join(DEFAULT_PID_FILES)
            + "."
        ),
    )


class GaneshaMon(GaneshaAgent[MonParameters]):
    """Monitors ganesha.nfsd and signals its health through node attributes

    While the local ganesha.nfsd runs, sets the ganesha-active and grace-active
    node attributes to 1.  When it stops for any reason, deletes grace-active,
    waits grace_delay seconds and deletes ganesha-active: the first deletion puts
    the surviving servers into NFS grace, the second moves this node's virtual IP
    to one of them.  The monitor always succeeds while the agent can do this.
    """

    name = "ganesha_mon"
    parameters = MonParameters

    def pid_files(self) -> tuple[str, ...]:
        return (self.params.pid_file,) if self.params.pid_file else DEFAULT_PID_FILES

    def validate(self) -> None:
        if self.params.pid_file is not None and not self.params.pid_file.startswith("/"):
            raise ConfigurationError(
                f"pid_file must be an absolute path, not {self.params.pid_file!r}"
            )
        if self.params.ganesha_active == self.params.grace_active:
            raise ConfigurationError(
                "ganesha_active and grace_active must name different attributes"
            )

    @action(timeout=20)
    def validate_all(self) -> ExitCode:
        limit = MONITOR_TIMEOUT - ATTRIBUTE_UPDATE_RESERVE
        if self.params.grace_delay > limit:
            raise ConfigurationError(
                f"grace_delay={self.params.grace_delay}s does not fit in the {MONITOR_TIMEOUT}s "
                f"monitor timeout with {ATTRIBUTE_UPDATE_RESERVE}s left for the attribute updates; "
                f"use at most {limit}s or raise the monitor timeout"
            )
        return ExitCode.SUCCESS

    @action(timeout=40)
    def start(self) -> ExitCode:
        self.state.write(RUNNING)
        self.check_daemon()
        return ExitCode.SUCCESS

    @action(timeout=40)
    def stop(self) -> ExitCode:
        self.state.remove()
        return ExitCode.SUCCESS

    @action(timeout=MONITOR_TIMEOUT, interval=10, depth=0)
    @action(timeout=20, interval=60, name="status")
    def monitor(self) -> ExitCode:
        if not self.started:
            return ExitCode.NOT_RUNNING
        self.check_daemon()
        return ExitCode.SUCCESS

    def check_daemon(self) -> None:
        """Set both attributes while the daemon lives; signal the failover when it does not."""
        if self.daemon.is_alive():
            # grace-active first, as in the failover: on failback the node's
            # nfs-grace (and the survivors' plain grace) may then come before
            # its VIP even when Pacemaker sees the two updates apart.
            self.attributes.set(self.params.grace_active, "1")
            self.attributes.set(self.params.ganesha_active, "1")
            if self.state.read() != RUNNING:
                self.log.info(
                    "ganesha.nfsd runs: %s and %s set to 1",
                    self.params.ganesha_active,
                    self.params.grace_active,
                )
                self.state.write(RUNNING)
            return
        self.signal_down()

    def signal_down(self) -> None:
        """Delete grace-active, wait grace_delay, delete ganesha-active: in that order, always.

        Both deletions are attempted even if the first fails: a virtual IP
        left on a node without an NFS server is an outage, so it must move
        regardless; the failure is reported afterwards.
        """
        first_time = self.state.read() != SIGNALLED_DOWN
        if first_time:
            self.log.warning("ganesha.nfsd is not running: deleting %s", self.params.grace_active)
        failures: list[OCFError] = []
        try:
            self.attributes.delete(self.params.grace_active)
        except OCFError as error:
            failures.append(error)
        if first_time:
            self.wait_grace_delay()
        try:
            self.attributes.delete(self.params.ganesha_active)
        except OCFError as error:
            failures.append(error)
        if failures:
            raise failures[0]
        if first_time:
            self.log.warning(
                "deleted %s after %ss", self.params.ganesha_active, self.params.grace_delay
            )
            self.state.write(SIGNALLED_DOWN)

    def wait_grace_delay(self) -> None:
        """Wait grace_delay, but leave time inside the deadline for the second deletion."""
        room = self.deadline.remaining() - ATTRIBUTE_UPDATE_RESERVE
        wait = min(float(self.params.grace_delay), max(room, 0.0))
        if wait < self.params.grace_delay:
            self.log.error(
                "grace_delay=%ss does not fit in this action's deadline; waiting %.1fs only",
                self.params.grace_delay,
                wait,
            )
        self.clock.sleep(wait)


main = entry_point(GaneshaMon)

if __name__ == "__main__":
    raise SystemExit(main())
