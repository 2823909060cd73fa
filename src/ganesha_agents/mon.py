"""ganesha_mon: watches the local ganesha.nfsd and signals its health through node attributes.

Cloned on every node (``nfs-mon-clone``).  It never fails because of the
daemon: while ganesha.nfsd runs it keeps ``ganesha-active=1`` and
``grace-active=1`` set on this node; when the daemon is gone it deletes
``grace-active`` first, waits ``grace_delay`` seconds, then deletes
``ganesha-active``.  The first deletion stops this node's nfs-grace instance,
whose post-stop notification puts the surviving servers into NFS grace; the
second moves the virtual IP.  In a configuration without a takeover step
before each VIP (GlusterFS 3.7's), the wait is what orders the two: survivors
are in grace before the address they will take over comes up there.  A
configuration whose VIPs wait for a takeover step sets ``grace_delay=0``.

**Detection.**  start launches a watcher (:mod:`ganesha_agents.watcher`), a
small process that waits on the daemon through a pidfd and runs the very same
:meth:`GaneshaMon.reconcile` the moment it ends, and again when the pid file
shows it back.  The monitor checks the watcher (relaunching a dead one,
killing and relaunching a hung one) and stays the safety net: it runs
``reconcile`` itself.  Both act under one lock on the instance's state,
which records what was signalled (:mod:`ganesha_agents.signalled`), so the
watcher and a monitor running at the same moment never both delete or set.

**Grace, for ``ganesha-agents status``.**  The watcher also publishes
whether the daemon is in NFS grace (``ganesha-grace``,
:mod:`ganesha_agents.published_grace`), which nothing in the configuration
follows; stop deletes it, since it kills the watcher that kept it true.
The monitor itself asks nothing over D-Bus.

**When the attributes are written.**  Not on every monitor: each
``attrd_updater`` costs 11-24 ms on a real node, and a monitor that only
confirmed what attrd already holds spent most of its time there.  They are
written when the daemon's state changes (start, death, return), and
otherwise only when they may have been lost.  Transient attributes are lost:

1. when this node's attrd restarts: it forgets them, and Pacemaker 2.1.5's
   sync then makes its empty local values win on every peer.  The attrd a
   write went through is recorded (``PID:START``, found as pacemakerd's
   child, :mod:`~ganesha_agents.backends.attrdproc`); the watcher (every
   second) and every monitor compare it with the current one and write
   again at once when they differ;
2. when the node leaves the membership: the peers drop its values.  If
   Pacemaker restarted on the node, its executor probes every resource, and
   a probe always writes them (and the new attrd differs anyway).  If the
   node only rejoins (a healed partition), its attrd still holds them and
   broadcasts the values its peers lack (``broadcast_unseen_local_values``);
3. by hand (``attrd_updater -D``, ``crm_attribute -l reboot -D``) or with a
   cleared status section: nothing tells the node, so the watcher writes
   them every :data:`REASSERT_PERIOD` seconds regardless, and the monitor
   does when no watcher runs (or, as the safety net, when the last write is
   twice that old).

So a lost attribute is back within a second of an attrd restart and within
:data:`REASSERT_PERIOD` seconds in every other case; a failed write leaves
the record "never asserted", so the next check (the watcher's, a second
later) tries again.

Differences from the GlusterFS 3.7 agent, each for a reason:

- a probe or monitor of an instance that was never started answers 7, so the
  cluster (and ocf-tester) can tell "not running" from "running";
- liveness comes from the pid file's lock, not from ``/proc/$(cat pidfile)``,
  which a stale or half-rewritten pid file fooled;
- the wait runs once per failure, not on every monitor while the daemon
  stays dead, and it never runs past the monitor's deadline;
- a death is acted on at once by the watcher, not at the next monitor;
- attribute tool failures are reported (exit reason, OCF_ERR_GENERIC) rather
  than ignored: the cluster then restarts the monitor instead of trusting it.
"""

from __future__ import annotations

import os

from ganesha_agents import published_grace
from ganesha_agents.common import GaneshaAgent, pid_file_parameter
from ganesha_agents.signalled import DOWN, DRAINING, STARTED, UP, Signalled
from ocfkit import (
    ConfigurationError,
    ExitCode,
    GenericError,
    Integer,
    OCFError,
    Parameters,
    action,
    entry_point,
    parameter,
)
from ocfkit.state import safe_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ganesha_agents.backends.protocols import (
        AttrdTracker,
        StateLock,
        WatcherControl,
    )

# Time kept for the attribute updates around the wait; grace_delay must leave it.
ATTRIBUTE_UPDATE_RESERVE = 2
MONITOR_TIMEOUT = 10
REASSERT_PERIOD = 30.0
"""Seconds after which attributes that may have been deleted by hand are written again."""
STOP_WATCHER_WAIT = 5.0


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
            "When ganesha.nfsd dies, the seconds between deleting grace-active and deleting "
            "ganesha-active.  Deleting grace-active makes the other servers enter NFS grace "
            "(through nfs-grace's post-stop notification); deleting ganesha-active moves the "
            "virtual IP.  In a configuration without a takeover step before each virtual IP "
            "(GlusterFS 3.7's), this wait is all that lets the other servers be in grace "
            "before the address comes up on one of them: keep it (5 s by default).  A "
            "configuration whose virtual IPs wait for a takeover step orders the two by "
            "itself and sets 0.  The watcher and the monitor apply it the same way, once per "
            "failure.  It must fit inside the monitor timeout, with time left for the "
            "attribute updates; when changing it, adjust the ganesha_grace monitor interval "
            "to match."
        ),
    )
    pid_file: str | None = pid_file_parameter(", the daemon to watch")
    watch: bool = parameter(
        default=True,
        shortdesc="Notice the daemon's death at once",
        longdesc=(
            "Run a watcher process that waits on ganesha.nfsd and signals its death (and its "
            "return) within a fraction of a second, instead of at the next monitor.  start "
            "launches it, every monitor checks it and starts it again if it died or hung, "
            "stop ends it.  false leaves detection to the monitor alone."
        ),
    )


class GaneshaMon(GaneshaAgent[MonParameters]):
    """Monitors ganesha.nfsd and signals its health through node attributes

    While the local ganesha.nfsd runs, keeps the ganesha-active and
    grace-active node attributes set to 1.  When it stops for any reason,
    deletes grace-active, waits grace_delay seconds and deletes
    ganesha-active: the first deletion puts the surviving servers into NFS
    grace, the second moves this node's virtual IP to one of them.  A watcher
    process notices the death at once; the monitor checks the watcher and
    does the same work itself when needed.  The monitor always succeeds while
    the agent can do this.
    """

    name = "ganesha_mon"
    parameters = MonParameters

    def __init__(
        self,
        *,
        lock: StateLock | None = None,
        watchers: WatcherControl | None = None,
        attrd: AttrdTracker | None = None,
        **collaborators: Any,
    ) -> None:
        super().__init__(**collaborators)
        self._lock = lock
        self._watchers = watchers
        self._attrd = attrd

    @classmethod
    def conformance_doubles(cls) -> dict[str, Any]:
        """A watcher control, a lock and an attrd that stay in memory."""
        from ganesha_agents.fakes import FakeAttrdTracker, FakeWatcherControl, MemoryLock

        return {"watchers": FakeWatcherControl(), "lock": MemoryLock(), "attrd": FakeAttrdTracker()}

    # ------------------------------------------------------------- collaborators

    def instance_file(self, suffix: str) -> str:
        """A file of this instance beside its state file in HA_RSCTMP."""
        key = safe_key(f"{self.name}-{self.env.instance or 'default'}")
        return os.path.join(self.env.rsctmp, f"{key}.{suffix}")

    @property
    def state_lock(self) -> StateLock:
        if self._lock is None:
            from ganesha_agents.backends.statelock import FileLock

            self._lock = FileLock(self.instance_file("lock"))
        return self._lock

    @property
    def attrd(self) -> AttrdTracker:
        if self._attrd is None:
            from ganesha_agents.backends.attrdproc import ProcAttrdTracker

            self._attrd = ProcAttrdTracker.of_this_action()
        return self._attrd

    @property
    def watchers(self) -> WatcherControl:
        if self._watchers is None:
            from ganesha_agents.backends.watchproc import ProcessWatcherControl

            pacemakerd = getattr(self.attrd, "pacemakerd", None)
            extra = ["--pacemakerd", f"{pacemakerd[0]}:{pacemakerd[1]}"] if pacemakerd else []
            self._watchers = ProcessWatcherControl(
                self.instance_file("watcher"), self.clock, extra_args=extra
            )
        return self._watchers

    # ------------------------------------------------------------------ actions

    def validate(self) -> None:
        self.check_pid_file()
        if self.params.ganesha_active == self.params.grace_active:
            raise ConfigurationError(
                "ganesha_active and grace_active must name different attributes"
            )
        for name in ("ganesha_active", "grace_active"):
            if getattr(self.params, name) == published_grace.ATTRIBUTE:
                raise ConfigurationError(
                    f"{name} cannot be {published_grace.ATTRIBUTE}: the watcher publishes "
                    "whether the server is in grace under that name"
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
        if not self.started:
            self.write_record(Signalled(STARTED))
        self.reconcile(force=True)
        self.supervise_watcher(starting=True)
        return ExitCode.SUCCESS

    @action(timeout=40)
    def stop(self) -> ExitCode:
        """End the watcher, finish a failover it had begun, forget the instance.

        The watcher is ended while the state lock is held, so never halfway
        through a step: a deletion it made is always recorded, and a
        failover it began is finished here.  A hung watcher holding the lock
        is killed first; a lock that cannot be had is not worth failing a
        stop for (a failed stop gets the node fenced).
        """
        wait = min(STOP_WATCHER_WAIT, self.deadline.remaining())
        if self.watchers.check().kind == "hung":
            self.watchers.stop(wait)
        locked = self.state_lock.acquire(min(MONITOR_TIMEOUT, self.deadline.remaining() / 2))
        try:
            stopped = self.watchers.stop(wait)
        finally:
            if locked:
                self.state_lock.release()
        if not locked:
            holder = self.state_lock.holder()
            self.log.warning(
                "stopping without the state lock (held by %s)",
                f"pid {holder}" if holder else "another process",
            )
        if stopped is not None:
            self.log.info("watcher (pid %d) stopped", stopped)
        record = self.read_record()
        if record is not None and record.phase == DRAINING:
            self.finish_drain(record, leave_to_watcher=False)
        if record is not None:
            self.forget_grace()
        self.state.remove()
        self.watchers.remove()
        self.state_lock.remove()
        return ExitCode.SUCCESS

    @action(timeout=MONITOR_TIMEOUT, interval=10, depth=0)
    @action(timeout=20, interval=60, name="status")
    def monitor(self) -> ExitCode:
        if not self.started:
            return ExitCode.NOT_RUNNING
        watched = self.supervise_watcher()
        self.reconcile(
            force=self.is_probe,
            period=REASSERT_PERIOD * 2 if watched else REASSERT_PERIOD,
            leave_to_watcher=watched,
        )
        return ExitCode.SUCCESS

    def forget_grace(self) -> None:
        """Delete what the killed watcher published of the server's grace; never fails the stop."""
        for error in self.delete(published_grace.ATTRIBUTE):
            self.log.warning("cannot delete %s: %s", published_grace.ATTRIBUTE, error.reason)

    # ------------------------------------------------------------------ watcher

    def supervise_watcher(self, *, starting: bool = False) -> bool:
        """Whether a healthy watcher was found; a missing one is started, a hung one replaced."""
        if not self.params.watch:
            return False
        status = self.watchers.check()
        if status.kind == "running":
            return True
        if status.kind == "foreign":
            self.log.error(
                "%s, not this instance's watcher: the monitor watches alone", status.detail
            )
            return False
        if status.kind == "hung":
            self.log.warning("%s: killing it", status.detail)
            self.watchers.stop(min(STOP_WATCHER_WAIT, self.deadline.remaining()))
        elif not starting:
            self.log.warning("the watcher is not running (%s): starting it again", status.detail)
        self.launch_watcher()
        return False

    def launch_watcher(self) -> None:
        """Start a watcher; a failure is logged and the monitor keeps watching alone."""
        try:
            pid = self.watchers.launch(dict(self.env.environ))
        except OCFError as error:
            self.log.error("%s: the monitor watches alone", error.reason)
            return
        self.log.info("watcher started (pid %d)", pid)

    # --------------------------------------------------------------- signalling

    def read_record(self) -> Signalled | None:
        text = self.state.read()
        return None if text is None else Signalled.parse(text)

    def reconcile(
        self,
        *,
        force: bool = False,
        period: float = REASSERT_PERIOD,
        leave_to_watcher: bool = False,
    ) -> None:
        """Make the attributes say what the daemon does; the monitor's and the watcher's work.

        Nothing is written when the record shows the attributes already say
        it and they cannot have been lost (see the module's docstring);
        ``force`` writes them anyway (start, probe, a new watcher).  A
        failover under way is carried on first: the wait for ganesha-active,
        then its deletion, even if the daemon came back meanwhile (the next
        check sets both again), as one monitor always did.
        """
        record = self.read_record()
        if record is None:
            return
        failure: OCFError | None = None
        if record.phase != DRAINING:
            if not force and not self.due(record, self.daemon.is_alive(), period):
                return
            self.lock()
            try:
                current = self.read_record()
                if current is None:
                    return
                if current.phase != DRAINING:
                    current, failure = self.signal(current, self.daemon.is_alive(), force, period)
                record = current
            finally:
                self.state_lock.release()
        if record.phase == DRAINING:
            self.finish_drain(record, leave_to_watcher=leave_to_watcher)
        if failure is not None:
            raise failure

    def due(self, record: Signalled, alive: bool, period: float) -> bool:
        """Whether the attributes need writing (read without the lock: the cheap first look)."""
        return record.phase != (UP if alive else DOWN) or bool(self.stale(record, period))

    def stale(self, record: Signalled, period: float) -> str:
        """Why attributes that said the right thing may have been lost since; "" if they cannot."""
        if record.asserted <= 0:
            return "not written yet"
        age = self.clock.monotonic() - record.asserted
        if age >= period or age < -1.0:  # a record from the future is not trusted either
            return f"written {age:.0f}s ago"
        now = self.attrd.identity()
        if now and now != record.attrd:
            return f"attrd restarted ({record.attrd or 'unknown'}, now {now})"
        return ""

    def signal(
        self, record: Signalled, alive: bool, force: bool, period: float
    ) -> tuple[Signalled, OCFError | None]:
        """One step, under the lock: set both, begin the failover, or repeat the deletions."""
        wanted = UP if alive else DOWN
        if record.phase == wanted:
            why = self.stale(record, period)
            if not why and not force:
                return record, None
            if why.startswith("attrd"):
                self.log.info("%s: writing the attributes again", why)
            else:
                self.log.debug("writing the attributes again: %s", why or "start or probe")
        if alive:
            return self.set_up(record), None
        if record.phase == DOWN:
            return self.delete_both(record), None
        return self.begin_drain(record)

    def set_up(self, record: Signalled) -> Signalled:
        # grace-active first, as in the failover: on failback the node's
        # nfs-grace (and the survivors' plain grace) may then come before
        # its VIP even when Pacemaker sees the two updates apart.
        try:
            self.attributes.set(self.params.grace_active, "1")
            self.attributes.set(self.params.ganesha_active, "1")
        except OCFError:
            self.write_record(record.but(asserted=0.0))
            raise
        if record.phase != UP:
            self.log.info(
                "ganesha.nfsd runs: %s and %s set to 1",
                self.params.ganesha_active,
                self.params.grace_active,
            )
        return self.write_asserted(record.but(phase=UP))

    def delete_both(self, record: Signalled) -> Signalled:
        """The daemon stays dead: the deletions again, without a wait (nothing new to order)."""
        failures = self.delete(self.params.grace_active) + self.delete(self.params.ganesha_active)
        if failures:
            self.write_record(record.but(asserted=0.0))
            raise failures[0]
        return self.write_asserted(record)

    def begin_drain(self, record: Signalled) -> tuple[Signalled, OCFError | None]:
        """The daemon has just died: delete grace-active and record when."""
        self.log.warning("ganesha.nfsd is not running: deleting %s", self.params.grace_active)
        failures = self.delete(self.params.grace_active)
        draining = record.but(
            phase=DRAINING,
            since=self.clock.monotonic(),
            asserted=0.0 if failures else record.asserted,
        )
        return self.write_record(draining), failures[0] if failures else None

    def finish_drain(self, record: Signalled, *, leave_to_watcher: bool) -> None:
        """After grace_delay, delete ganesha-active: once, by whoever gets there first.

        A monitor that found a healthy watcher leaves the wait to it; the
        lock and the record make sure only one of them deletes.  Attempted
        even if deleting grace-active failed: a virtual IP left on a node
        without an NFS server is an outage, so it must move regardless.
        """
        delay = float(self.params.grace_delay)
        remaining = min(record.since + delay - self.clock.monotonic(), delay)
        if remaining > 0:
            if leave_to_watcher:
                return
            self.wait_grace_delay(remaining)
        self.lock()
        try:
            current = self.read_record()
            if current is None or current.phase != DRAINING or current.since != record.since:
                return  # finished by the other one
            failures = self.delete(self.params.ganesha_active)
            done = current.but(phase=DOWN)
            if failures or current.asserted <= 0:
                self.write_record(done.but(asserted=0.0))
            else:
                self.write_asserted(done)
            self.log.warning(
                "deleted %s %.1fs after %s",
                self.params.ganesha_active,
                self.clock.monotonic() - current.since,
                self.params.grace_active,
            )
        finally:
            self.state_lock.release()
        if failures:
            raise failures[0]

    def delete(self, name: str) -> list[OCFError]:
        try:
            self.attributes.delete(name)
        except OCFError as error:
            return [error]
        return []

    def write_asserted(self, record: Signalled) -> Signalled:
        return self.write_record(
            record.but(asserted=self.clock.monotonic(), attrd=self.attrd.identity())
        )

    def write_record(self, record: Signalled) -> Signalled:
        """Write the record; returns it as it reads back (times to the millisecond)."""
        text = record.dump()
        self.state.write(text)
        return Signalled.parse(text)

    def lock(self) -> None:
        """Take the state lock within the deadline, or fail saying who holds it."""
        if self.state_lock.acquire(self.deadline.remaining()):
            return
        holder = self.state_lock.holder()
        who = f"pid {holder}" if holder else "another process"
        raise GenericError(f"ganesha_mon's state lock is held by {who} past the deadline")

    def wait_grace_delay(self, seconds: float) -> None:
        """Wait ``seconds`` of grace_delay, leaving time inside the deadline for the deletion."""
        room = self.deadline.remaining() - ATTRIBUTE_UPDATE_RESERVE
        wait = min(seconds, max(room, 0.0))
        if wait < seconds:
            self.log.error(
                "grace_delay=%ss does not fit in this action's deadline; waiting %.1fs only",
                self.params.grace_delay,
                wait,
            )
        self.clock.sleep(wait)


main = entry_point(GaneshaMon)

if __name__ == "__main__":
    raise SystemExit(main())
