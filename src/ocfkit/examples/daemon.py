"""An example daemon agent: runs any program as a daemon, like resource-agents' ``anything``.

It is written with ocfkit's process helpers (:mod:`ocfkit.process`) the way a
user would write an agent for a real service: start detaches the program as
a given user with its output in log files, monitor asks the pid file (the
kernel's lock first), stop sends SIGTERM and then SIGKILL within the stop's
deadline.  Its values come from the cluster configuration, so nothing of
them ever reaches a shell: the options are split into words like a shell
would split them, and passed as they are.

The pid file and the program locate the resource (``locates=True``): when
either is unusable, this configuration cannot have started anything, so a
stop answers 0 and a probe 7.  Any other broken parameter leaves stop and
probes working on their defaults.
"""

from __future__ import annotations

import os

from ocfkit import (
    ConfigurationError,
    ExitCode,
    GenericError,
    Integer,
    NotInstalledError,
    Parameters,
    ResourceAgent,
    action,
    entry_point,
    parameter,
)
from ocfkit.pidfile import check_pid_file
from ocfkit.state import safe_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.pidfile import Verdict


class DaemonParameters(Parameters):
    binfile: str = parameter(
        locates=True,
        shortdesc="Program to run",
        longdesc=(
            "Absolute path of the program to run as a daemon.  Its file name is how the "
            "agent tells the daemon from another process that got its pid."
        ),
    )
    cmdline_options: str = parameter(
        default="",
        shortdesc="Arguments of the program",
        longdesc=(
            "Split into words the way a shell splits them (quotes group words), but no "
            "shell runs: $(...), ; and the like reach the program as they are."
        ),
    )
    pidfile: str | None = parameter(
        default=None,
        locates=True,
        shortdesc="Pid file",
        longdesc=(
            "Where the agent writes the daemon's pid; the daemon also holds a lock on it.  "
            "By default daemon-<instance>.pid in HA_VARRUN (/var/run)."
        ),
    )
    user: str | None = parameter(
        default=None,
        shortdesc="User to run the program as",
        longdesc="With that user's groups.  By default the agent's own user (root).",
    )
    workdir: str = parameter(
        default="/",
        shortdesc="Working directory",
        longdesc="Entered as the user before the program runs.",
    )
    logfile: str | None = parameter(
        default=None,
        shortdesc="File the program's output is appended to",
        longdesc="Opened as the user.  By default the output is discarded.",
    )
    errlogfile: str | None = parameter(
        default=None,
        shortdesc="File the program's errors are appended to",
        longdesc="Opened as the user.  By default the same as logfile.",
    )
    start_check: int = parameter(
        default=1,
        type=Integer(min=0),
        shortdesc="Seconds the program must stay up for start to succeed",
        longdesc="A program that exits within this time failed to start.",
    )
    stop_timeout: int | None = parameter(
        default=None,
        type=Integer(min=0),
        shortdesc="Seconds between SIGTERM and SIGKILL",
        longdesc=(
            "By default SIGKILL comes when all of the stop's timeout but a reserve has gone."
        ),
    )


class Daemon(ResourceAgent[DaemonParameters]):
    """Runs a program as a daemon

    Starts the program detached from the agent, as a given user, with its
    output appended to log files, and writes its pid file; monitors it
    through that file; stops it with SIGTERM, then SIGKILL before the stop's
    timeout runs out.
    """

    name = "daemon"
    version = "1.0"
    parameters = DaemonParameters

    def validate(self) -> None:
        for field in ("binfile", "pidfile", "workdir", "logfile", "errlogfile"):
            value = getattr(self.params, field)
            if value is not None and not value.startswith("/"):
                raise ConfigurationError(
                    f"{field} must be an absolute path, not {value!r}", parameters=[field]
                )

    # ------------------------------------------------------------------ helpers

    @property
    def pid_file(self) -> str:
        if self.params.pidfile:
            return self.params.pidfile
        instance = safe_key(self.env.instance or self.name)
        return f"{self.env.varrun}/daemon-{instance}.pid"

    @property
    def names(self) -> tuple[str, ...]:
        """What the daemon's process is called: its program's file name."""
        return (os.path.basename(self.params.binfile),)

    def status(self) -> Verdict:
        return check_pid_file(self.pid_file, self.names)

    def argv(self) -> list[str]:
        from shlex import split

        try:
            words = split(self.params.cmdline_options)
        except ValueError as error:
            raise ConfigurationError(
                f"cmdline_options cannot be split into words: {error}",
                parameters=["cmdline_options"],
            ) from None
        return [self.params.binfile, *words]

    # ------------------------------------------------------------------ actions

    @action(timeout=20)
    def start(self) -> ExitCode:
        if self.status().alive:
            return ExitCode.SUCCESS
        binfile = self.params.binfile
        if not (os.path.isfile(binfile) and os.access(binfile, os.X_OK)):
            raise NotInstalledError(f"{binfile} is not an executable file")
        from ocfkit.process import start_daemon, survives

        pid = start_daemon(
            self.argv(),
            deadline=self.deadline,
            pid_file=self.pid_file,
            user=self.params.user,
            cwd=self.params.workdir,
            stdout=self.params.logfile,
            stderr=self.params.errlogfile or self.params.logfile,
        )
        if not survives(pid, self.params.start_check, deadline=self.deadline):
            from ocfkit.pidfile import remove_pid_file

            remove_pid_file(self.pid_file)
            where = f"; see {self.params.errlogfile or self.params.logfile}"
            raise GenericError(
                f"{binfile} exited within {self.params.start_check}s of starting"
                + (where if self.params.errlogfile or self.params.logfile else "")
            )
        self.log.info("started %s as pid %d", binfile, pid)
        return ExitCode.SUCCESS

    @action(timeout=20)
    def stop(self) -> ExitCode:
        from ocfkit.process import stop_pid_file

        result = stop_pid_file(
            self.pid_file,
            deadline=self.deadline,
            names=self.names,
            kill_after=self.params.stop_timeout,
        )
        if result.how != "gone":
            self.log.info("pid %s %s after %.1fs", result.pid, result.how, result.seconds)
        return ExitCode.SUCCESS

    @action(timeout=20, interval=10, depth=0)
    def monitor(self) -> ExitCode:
        verdict = self.status()
        if verdict.alive:
            return ExitCode.SUCCESS
        if not self.is_probe and verdict.reason != "no pid file":
            self.log.info("not running: %s", verdict.reason)
        return ExitCode.NOT_RUNNING

    @action(timeout=20)
    def validate_all(self) -> ExitCode:
        binfile = self.params.binfile
        if not (os.path.isfile(binfile) and os.access(binfile, os.X_OK)):
            raise NotInstalledError(f"{binfile} is not an executable file")
        self.argv()
        return ExitCode.SUCCESS


main = entry_point(Daemon)

if __name__ == "__main__":
    raise SystemExit(main())
