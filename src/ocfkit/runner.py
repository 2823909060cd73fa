"""Running programs: argv lists only, never a shell, always within the deadline.

Values from the environment (node names, attribute names) end up on command
lines; passing them as separate argv elements means no quoting can go wrong.
A program that is not installed is reported as OCF_ERR_INSTALLED (5), one
that outlives what is left of the action's deadline is killed and reported.
Programs are started by :mod:`ocfkit.spawn` (``posix_spawn`` and pipes),
which spares every action the import of ``subprocess``.
"""

from __future__ import annotations

from ocfkit._record import Record
from ocfkit.errors import DeadlineExceeded, GenericError, NotInstalledError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Protocol

    from ocfkit.deadline import Deadline
    from ocfkit.log import AgentLog

    class Runner(Protocol):
        """What backends need to run programs; tests pass a fake."""

        def run(
            self,
            argv: Sequence[str],
            *,
            timeout: float | None = None,
            input: str | None = None,
            check: bool = False,
        ) -> CommandResult: ...


_OUTPUT_LOG_LIMIT = 2000


class CommandResult(Record):
    """What a finished program left behind."""

    __slots__ = ("argv", "duration", "returncode", "stderr", "stdout")

    def __init__(
        self,
        argv: tuple[str, ...],
        returncode: int,
        stdout: str = "",
        stderr: str = "",
        duration: float = 0.0,
    ) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """One line for an exit reason: the program, its code and its stderr."""
        detail = " ".join(self.stderr.split()) or " ".join(self.stdout.split())
        text = f"{self.argv[0]} exited {self.returncode}"
        return f"{text}: {detail[:300]}" if detail else text


class CommandFailed(GenericError):
    """A program exited non-zero where success was required."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.describe())
        self.result = result


class CommandRunner:
    """Runs programs for one action, bounded by its deadline, logging what they said."""

    def __init__(
        self,
        deadline: Deadline,
        log: AgentLog | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.deadline = deadline
        self.log = log
        self.env = dict(env) if env is not None else None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        """Run ``argv``; ``timeout`` is further bounded by the action's deadline.

        Raises :class:`NotInstalledError` when the program is missing,
        :class:`DeadlineExceeded` when it has to be killed, and
        :class:`CommandFailed` for a non-zero exit when ``check`` is true.
        """
        if isinstance(argv, str | bytes) or not argv:
            raise TypeError("argv must be a non-empty sequence of strings, never a shell string")
        args = tuple(str(a) for a in argv)
        if any("\0" in a for a in args):
            raise GenericError(f"{args[0]}: an argument contains a NUL byte")
        import time

        from ocfkit.spawn import Timeout, run_captured

        limit = self.deadline.bound(timeout)
        started = time.monotonic()
        try:
            code, out, err = run_captured(
                args,
                env=self.env,
                stdin=None if input is None else input.encode(),
                timeout=limit,
            )
        except FileNotFoundError as error:
            raise NotInstalledError(f"{args[0]}: program not found") from error
        except PermissionError as error:
            raise NotInstalledError(f"{args[0]}: cannot be executed ({error.strerror})") from error
        except Timeout as error:
            if self.log:
                self.log.error("%s killed after %.1fs (deadline)", _show(args), limit)
            raise DeadlineExceeded(f"{args[0]} did not finish within {limit:.1f}s") from error
        result = CommandResult(
            args,
            code,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            time.monotonic() - started,
        )
        self._log(result)
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def _log(self, result: CommandResult) -> None:
        """Debug lines for every run, a warning with stderr for a failed one.

        Nothing is formatted unless it will be written: a healthy monitor
        must not pay for quoting its command lines.
        """
        if self.log is None:
            return
        if self.log.settings.debug:
            self.log.debug(
                "ran %s -> %d in %.3fs", _show(result.argv), result.returncode, result.duration
            )
            if result.stdout:
                self.log.debug("%s stdout: %s", result.argv[0], result.stdout[:_OUTPUT_LOG_LIMIT])
            if result.stderr and result.ok:
                self.log.debug(
                    "%s stderr: %s", result.argv[0], result.stderr.strip()[:_OUTPUT_LOG_LIMIT]
                )
        if result.stderr and not result.ok:
            self.log.warning(
                "%s stderr: %s", result.argv[0], result.stderr.strip()[:_OUTPUT_LOG_LIMIT]
            )


def _show(argv: Sequence[str]) -> str:
    """argv for a log line, quoted so that spaces and odd characters stay visible."""
    from shlex import quote

    return " ".join(quote(a) for a in argv)
