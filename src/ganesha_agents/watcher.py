"""ganesha_mon's watcher: notices ganesha.nfsd's death the moment it happens, and its return.

ganesha_mon's start launches it (``backends/watchproc.py``: a new session,
stdin, stdout and stderr on /dev/null, nothing else inherited), with the
start action's environment, from which it reads the instance's parameters
and where to log.  It then:

1. takes the lock on its file (``<instance>.watcher`` in ``HA_RSCTMP``) for
   its whole life, and exits if another watcher of the instance has it;
2. finds the daemon through the pid file exactly as the monitor does (the
   lock holder, its name checked) and waits on it with a pidfd: ``poll``
   returns the moment the process has ended, so a ``kill -9`` is acted on
   within milliseconds, not at the next monitor;
3. on every wake-up (the daemon ended, or once a second while it runs, or
   every :data:`DEAD_POLL` seconds while it is gone, looking for a
   restarted one) runs ganesha_mon's own :meth:`~ganesha_agents.mon.GaneshaMon.reconcile`:
   on death delete grace-active, wait grace_delay, delete ganesha-active; on
   return set both; otherwise write them again only when they may have been
   lost (an attrd restart, at once; in any case every 30 s);
4. rewrites its heartbeat about once a second, the grace_delay wait
   included, so that the monitor can tell a hung watcher from a busy one;
5. exits when the instance is stopped (its state file gone) or its file is
   removed; ganesha_mon's stop kills it by its verified pid anyway;
6. publishes whether the daemon is in NFS grace (:class:`GracePublisher`,
   the ``ganesha-grace`` attribute of :mod:`ganesha_agents.published_grace`),
   so that ``ganesha-agents status`` run on another node can tell: while the
   daemon runs it asks ``get_grace`` at most every
   :data:`~ganesha_agents.published_grace.POLL_INTERVAL` seconds, within
   :data:`GRACE_BUDGET`, in a thread of its own (:class:`ThreadedAsk`): the
   loop goes on sleeping on the pidfd meanwhile, so a death is acted on at
   once even while a call hangs, and the answer is published (by the loop,
   after the reconcile) at the next wake-up.

Every reaction has the budget of one monitor (:data:`EVENT_TIMEOUT`), so an
attribute update that hangs is killed as the monitor's would be.  A failed
update is retried after :data:`RETRY_FIRST` seconds, doubling up to
:data:`RETRY_MAX`.  It logs as the agent does, with the agent's tag (its own
pid in it), to where the agent logs; when the agent would log to stderr only
(Pacemaker normally captures that), to Pacemaker's own log file or, failing
that, syslog, since the watcher's stderr goes nowhere.
"""

from __future__ import annotations

import os

from ganesha_agents import published_grace
from ganesha_agents.mon import MONITOR_TIMEOUT, GaneshaMon
from ocfkit.deadline import Deadline
from ocfkit.environment import OCFEnvironment
from ocfkit.errors import OCFError
from ocfkit.log import AgentLog, LogSettings
from ocfkit.params import load_parameters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Protocol

    from ganesha_agents.backends.protocols import DaemonWatch, NFSDaemon
    from ocfkit.clock import Clock

    class OwnFile(Protocol):
        """The watcher's lock and heartbeat (``backends.watchproc.WatcherFile``)."""

        def claim(self) -> int | None: ...

        def beat(self) -> None: ...

        def still_ours(self) -> bool: ...

        def close(self) -> None: ...


TICK = 1.0
"""Longest sleep on the pidfd while the daemon runs: also the heartbeat's pace."""
DEAD_POLL = 0.1
"""While no daemon runs, how often the pid file is looked at for a restarted one."""
EVENT_TIMEOUT = float(MONITOR_TIMEOUT)
RETRY_FIRST = 1.0
RETRY_MAX = 10.0
GRACE_BUDGET = 1.0
"""Longest a ``get_grace`` of the watcher may take, every attempt included."""
GRACE_RETRY_MAX = 60.0
"""Longest pause between two ``get_grace`` calls while they keep failing."""


def log_settings(environ: Mapping[str, str], agent_name: str) -> LogSettings:
    """The agent's log settings, with a destination other than stderr, which goes nowhere."""
    settings = LogSettings.from_environ(environ, agent_name)
    if settings.facility or settings.logfile:
        return settings

    def option(name: str) -> str | None:
        # Pacemaker's daemons export their options as PCMK_name and HA_name.
        value = environ.get(f"PCMK_{name}") or environ.get(f"HA_{name}")
        return value if value and value.lower() != "none" else None

    logfile = option("logfile")
    if logfile is not None and not logfile.startswith("/"):
        logfile = None
    settings.logfile = logfile
    if logfile is None:
        settings.facility = option("logfacility") or "daemon"
    return settings


class WatchingMon(GaneshaMon):
    """ganesha_mon as the watcher runs it: the same decisions, one event at a time.

    Only two things differ from an action: every event gets a fresh
    deadline (:meth:`begin_event`), and the grace_delay wait keeps the
    heartbeat going.
    """

    name = "ganesha_mon"

    def __init__(self, *, beat: Callable[[], None] = lambda: None, **collaborators: Any) -> None:
        super().__init__(**collaborators)
        self._beat = beat
        # Backends built here (not passed in) are rebuilt for each event's deadline.
        self._own_attributes = self._attributes is None
        self._own_runner = self._runner is None
        self._own_daemon = self._daemon is None

    def bind(self, environ: Mapping[str, str]) -> None:
        """Read the instance from the start action's environment, as an action would."""
        self.env = OCFEnvironment.from_environ(environ, "monitor")
        self.log = AgentLog(log_settings(environ, self.name))
        self.begin_event()
        self.params = load_parameters(self.parameters, environ).values
        self.validate()

    def begin_event(self) -> None:
        self.deadline = Deadline(self.clock, EVENT_TIMEOUT)
        if self._own_attributes:
            self._attributes = None
        if self._own_runner:
            self._runner = None
        if self._own_daemon:
            self._daemon = None

    def wait_grace_delay(self, seconds: float) -> None:
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            self.clock.sleep(min(left, TICK))
            self._beat()
        self.begin_event()


#: What a ``get_grace`` came to: in grace or not, or None and why it could not be told.
Outcome = tuple[bool | None, str]


def ask_outcome(ask: Callable[[], bool]) -> Outcome:
    """Call ``ask``; a daemon that is not running is in no grace, a failure is unknown."""
    from ganesha_agents.backends.errors import GaneshaNotRunning

    try:
        return ask(), ""
    except GaneshaNotRunning:
        return False, ""
    except OCFError as error:
        return None, error.reason
    except Exception as error:  # a thread must not die silently
        return None, f"unexpected failure: {error!r}"


class SyncAsk:
    """``get_grace`` in the loop itself: for the fakes, whose clock is not for threads."""

    def __init__(self, ask: Callable[[], bool]) -> None:
        self._ask = ask
        self._outcome: Outcome | None = None

    @property
    def busy(self) -> bool:
        return self._outcome is not None

    def start(self) -> None:
        self._outcome = ask_outcome(self._ask)

    def outcome(self) -> Outcome | None:
        outcome, self._outcome = self._outcome, None
        return outcome

    def abandon(self) -> None:
        self._outcome = None


class ThreadedAsk:
    """``get_grace`` in a thread of its own, so that the pidfd wait never waits for it.

    Each call gets its own box for its answer: an abandoned call (the daemon
    died meanwhile) that answers late writes into a box nobody reads.
    """

    def __init__(self, ask: Callable[[], bool]) -> None:
        self._ask = ask
        self._current: tuple[Any, list[Outcome]] | None = None

    @property
    def busy(self) -> bool:
        return self._current is not None

    def start(self) -> None:
        import threading

        box: list[Outcome] = []
        thread = threading.Thread(
            target=lambda: box.append(ask_outcome(self._ask)), name="get_grace", daemon=True
        )
        thread.start()
        self._current = (thread, box)

    def outcome(self) -> Outcome | None:
        if self._current is None:
            return None
        thread, box = self._current
        if thread.is_alive() or not box:
            return None
        self._current = None
        return box[0]

    def abandon(self) -> None:
        self._current = None


class GracePublisher:
    """Keeps ``ganesha-grace`` saying whether the local daemon is in grace; writes only changes.

    ``published`` is what the attribute holds as far as this process knows:
    a value, ``None`` (deleted), or unknown (:attr:`known` false: at the
    start, and after a failed write), which the next look writes whatever it
    finds, so a value left by a killed watcher does not outlive it.  A
    ``get_grace`` that fails leaves the attribute as it was and is tried
    again later, the pause doubling up to :data:`GRACE_RETRY_MAX`.  The
    question goes through ``asker`` (:class:`ThreadedAsk` in the real
    watcher; by default :class:`SyncAsk` on the agent's daemon backend);
    the attribute is written by the loop alone.
    """

    def __init__(
        self,
        mon: WatchingMon,
        clock: Clock,
        *,
        asker: SyncAsk | ThreadedAsk | None = None,
        interval: float = published_grace.POLL_INTERVAL,
        budget: float = GRACE_BUDGET,
        name: str = published_grace.ATTRIBUTE,
    ) -> None:
        self.mon = mon
        self.clock = clock
        self.interval = interval
        self.budget = budget
        self.name = name
        self.asker = asker or SyncAsk(lambda: mon.daemon.in_grace(budget=budget))
        self.known = False
        self.published: str | None = None
        self.next_ask = float("-inf")
        self.asked = 0.0
        self.failures = 0

    def running(self) -> None:
        """The daemon runs: ask it when the interval has passed; publish an answer's change."""
        if not self.asker.busy:
            if self.clock.monotonic() < self.next_ask:
                return
            self.asked = self.clock.monotonic()
            self.asker.start()
        outcome = self.asker.outcome()
        if outcome is not None:
            self.take(*outcome)

    def take(self, in_grace: bool | None, why: str) -> None:
        if in_grace is None:
            self.failures += 1
            pause = min(self.interval * 2**self.failures, GRACE_RETRY_MAX)
            self.next_ask = self.clock.monotonic() + pause
            if self.failures == 1:
                self.mon.log.warning(
                    "watcher: cannot tell whether ganesha.nfsd is in grace (%s); %s left as it is",
                    why,
                    self.name,
                )
            return
        if self.failures:
            self.mon.log.info("watcher: get_grace answers again")
            self.failures = 0
        self.next_ask = self.asked + self.interval
        if in_grace:
            if not self.known or self.published is None:
                self.publish(published_grace.value_for(self.clock.time()))
        else:
            self.publish(None)

    def gone(self) -> None:
        """The daemon is not running: it is in no grace (a question under way is dropped)."""
        self.asker.abandon()
        self.next_ask = float("-inf")
        self.publish(None)

    def publish(self, value: str | None) -> None:
        """Write ``value`` (None: delete) unless the attribute is known to hold it already."""
        if self.known and self.published == value:
            return
        try:
            if value is None:
                self.mon.attributes.delete(self.name)
            else:
                self.mon.attributes.set(self.name, value)
        except OCFError as error:
            self.known = False
            self.mon.log.warning("watcher: cannot update %s: %s", self.name, error.reason)
            return
        if value is not None:
            self.mon.log.info("ganesha.nfsd is in grace: %s set to %s", self.name, value)
        elif self.known:
            self.mon.log.info("ganesha.nfsd is out of grace: %s deleted", self.name)
        self.known = True
        self.published = value


class Watcher:
    """The loop: wait on the daemon, reconcile, publish its grace, beat."""

    def __init__(
        self,
        mon: WatchingMon,
        daemon: DaemonWatch,
        own_file: OwnFile,
        clock: Clock,
        *,
        tick: float = TICK,
        dead_poll: float = DEAD_POLL,
        grace: GracePublisher | None = None,
    ) -> None:
        self.mon = mon
        self.grace = GracePublisher(mon, clock) if grace is None else grace
        self.daemon = daemon
        self.file = own_file
        self.clock = clock
        self.tick = tick
        self.dead_poll = dead_poll
        self.retry = 0.0

    def run(self) -> int:
        try:
            other = self.file.claim()
        except OCFError as error:
            self.mon.log.error("watcher: cannot use its file: %s", error.reason)
            return 1
        if other is not None:
            self.mon.log.info("watcher: pid %s already watches this instance", other)
            return 0
        self.mon.log.info(
            "watcher (pid %d) watching ganesha.nfsd through %s",
            os.getpid(),
            " or ".join(self.mon.pid_files()),
        )
        try:
            while self.step():
                pass
            self.mon.begin_event()
            self.grace.gone()
        finally:
            self.file.close()
            close = getattr(self.daemon, "close", None)
            if close is not None:
                close()
        return 0

    def step(self) -> bool:
        """One turn of the loop; False when the watcher is to end."""
        if not self.file.still_ours():
            self.mon.log.info("watcher: its file is gone, exiting")
            return False
        if not self.mon.started:
            self.mon.log.info("watcher: the instance is stopped, exiting")
            return False
        self.mon.begin_event()
        try:
            self.mon.reconcile()
        except OCFError as error:
            self.retry = min(max(self.retry * 2, RETRY_FIRST), RETRY_MAX)
            self.mon.log.warning("watcher: %s; trying again in %.0fs", error.reason, self.retry)
            self.pause(self.retry)
            return True
        except Exception:
            self.retry = min(max(self.retry * 2, RETRY_FIRST), RETRY_MAX)
            self.mon.log.exception("watcher: unexpected failure; trying again in %.0fs", self.retry)
            self.pause(self.retry)
            return True
        self.retry = 0.0
        self.file.beat()
        pid = self.daemon.find()
        if pid is None:
            self.grace.gone()
            self.clock.sleep(self.dead_poll)
        else:
            self.grace.running()
            self.daemon.wait_exit(pid, self.tick)
        return True

    def pause(self, seconds: float) -> None:
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            self.file.beat()
            self.clock.sleep(min(left, self.tick))


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """``--watcher-file PATH [--pacemakerd PID:START]``, the instance in the environment."""
    from ganesha_agents.backends.attrdproc import ProcAttrdTracker, parse_identity
    from ganesha_agents.backends.pidwait import PidfdDaemonWatch
    from ganesha_agents.backends.watchproc import WatcherFile
    from ocfkit.clock import SystemClock

    args = dict(zip(argv[::2], argv[1::2], strict=False))
    path = args.get("--watcher-file")
    if not path:
        return 2
    pacemakerd = parse_identity(args.get("--pacemakerd", ""))
    clock = SystemClock()
    own_file = WatcherFile(path, clock)
    mon = WatchingMon(beat=own_file.beat, attrd=ProcAttrdTracker(pacemakerd), clock=clock)
    try:
        mon.bind(os.environ if environ is None else environ)
    except OCFError as error:
        mon.log.error("watcher: cannot watch: %s", error.reason)
        return 1
    expected = mon.instance_file("watcher")
    if os.path.realpath(path) != os.path.realpath(expected):
        mon.log.error("watcher: asked to use %s, but this instance's file is %s", path, expected)
        return 2
    daemon = PidfdDaemonWatch(mon.pid_files())
    grace = GracePublisher(mon, clock, asker=ThreadedAsk(lambda: grace_daemon(mon).in_grace()))
    return Watcher(mon, daemon, own_file, clock, grace=grace).run()


def grace_daemon(mon: WatchingMon) -> NFSDaemon:
    """The daemon backend one threaded ``get_grace`` uses: its own deadline, no log.

    Silent because the publisher logs once when the calls start failing and
    once when they answer again, not every attempt every few seconds.
    """
    from ganesha_agents.backends import busaddress
    from ganesha_agents.backends.ganesha import GaneshaDaemon
    from ocfkit.clock import SystemClock

    return GaneshaDaemon(
        Deadline(SystemClock(), GRACE_BUDGET, reserve=0.0),
        SystemClock(),
        pid_files=mon.pid_files(),
        connect=busaddress.connect,
    )
