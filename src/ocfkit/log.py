"""Logging the way ``ocf_log`` does, on top of the stdlib ``logging`` package.

Where lines go is decided by the same variables Pacemaker sets for shell
agents: ``HA_LOGFACILITY`` (syslog; ``none`` disables it), ``HA_LOGFILE``
(appended), ``HA_DEBUGLOG`` (debug lines too) and stderr when neither a
facility nor a log file is set.  Debug lines appear only when ``HA_debug`` is
set and is not the string ``"0"`` (Pacemaker passes ``HA_debug=0``).  Every
line carries the tag ``type(instance)[pid]``.

Lines are written directly (an ``os.write`` per destination), so an agent
that logs never imports ``logging`` either: about 18 ms of a fresh
process, paid by every grace call on the path of a failover.  The stdlib
logger is built only when it is needed: to format a traceback, or while
:mod:`ocfkit.testing` captures records.

Log files are appended to as root, often in a directory others may write
(Debian's /var/log/pacemaker is hacluster's and haclient's): a line is only
ever added to a regular file with a single link, opened without following a
symbolic link and without blocking, so nobody who can write that directory
can turn a log line into a write to another file, or hang the agent with a
FIFO.

Messages carry values others chose (parameters, names read from a shared
volume, replies): a line break or a terminal escape in one would let it
forge a line of its own, or rewrite the screen of whoever reads the log.
So every character that is not printable is written as its Python escape
(``\\n``, ``\\x1b``), and a traceback is written one tagged line per line.
"""

from __future__ import annotations

import os
import sys
import time

from ocfkit._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping
    from typing import Any, TextIO

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

# Handlers attached to every logger built while ocfkit.testing captures records.
capture_handlers: list[logging.Handler] = []  # filled by ocfkit.testing only

_LEVEL_WORDS = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRIT"}
_EXIT_REASON = "ocf_exit_reason"
DEFAULT_DATEFMT = "%b %d %T "


class LogSettings(Record):
    """Where an agent's log lines go, read from the HA_* variables."""

    __slots__ = ("datefmt", "debug", "debuglog", "facility", "logfile", "tag")

    def __init__(
        self,
        tag: str,
        facility: str | None = None,
        logfile: str | None = None,
        debuglog: str | None = None,
        debug: bool = False,
        datefmt: str = DEFAULT_DATEFMT,
    ) -> None:
        self.tag = tag
        self.facility = facility
        self.logfile = logfile
        self.debuglog = debuglog
        self.debug = debug
        self.datefmt = datefmt

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], agent_name: str) -> LogSettings:
        instance = environ.get("OCF_RESOURCE_INSTANCE")
        tag = (
            f"{agent_name}({instance})[{os.getpid()}]"
            if instance
            else f"{agent_name}[{os.getpid()}]"
        )
        facility = environ.get("HA_LOGFACILITY") or None
        if facility == "none":
            facility = None
        debug_value = environ.get("HA_debug", "")
        return cls(
            tag=" ".join(tag.split()),
            facility=facility,
            logfile=environ.get("HA_LOGFILE") or None,
            debuglog=environ.get("HA_DEBUGLOG") or None,
            debug=debug_value not in ("", "0"),
            datefmt=environ.get("HA_DATEFMT") or DEFAULT_DATEFMT,
        )


def format_date(datefmt: str, when: float) -> str:
    """``date +FORMAT``'s rendering, which is what ocf_log uses: strftime plus ``%N``.

    ``%N`` (nanoseconds) is not strftime's but shell agents have it through
    ``date``; a lab or an operator who sets ``HA_DATEFMT="%F %T.%N "`` gets
    sub-second timestamps from ocfkit agents too.
    """
    if "%N" in datefmt:
        nanoseconds = f"{int((when % 1) * 1e9):09d}"
        datefmt = datefmt.replace("%N", nanoseconds)
    return time.strftime(datefmt, time.localtime(when))


class AgentLog:
    """The logger an action writes to: ``self.log.info("...")``.

    Messages are %-formatted lazily, like the stdlib's.
    """

    def __init__(self, settings: LogSettings, stderr: TextIO | None = None) -> None:
        self.settings = settings
        self._stderr = stderr
        self._logger: logging.Logger | None = None

    # The public methods mirror logging.Logger's.
    def debug(self, msg: str, *args: object) -> None:
        if self.settings.debug:
            self._emit(DEBUG, msg, args)

    def info(self, msg: str, *args: object) -> None:
        self._emit(INFO, msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._emit(WARNING, msg, args)

    def error(self, msg: str, *args: object) -> None:
        self._emit(ERROR, msg, args)

    def exception(self, msg: str, *args: object) -> None:
        """Log at error with the current exception's traceback (never on stdout)."""
        self._emit(ERROR, msg, args, exc_info=True)

    def exit_reason(self, reason: str) -> None:
        """Log an exit reason at error everywhere but stderr (it is printed there already)."""
        self._emit(ERROR, "%s", (reason,), extra={_EXIT_REASON: True})

    @property
    def logger(self) -> logging.Logger:
        """The stdlib logger behind this log, built on first use."""
        if self._logger is None:
            self._logger = _build_logger(self.settings, self._stderr or sys.stderr)
        return self._logger

    def _emit(
        self,
        level: int,
        msg: str,
        args: tuple[object, ...],
        *,
        exc_info: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if exc_info or capture_handlers:
            self.logger.log(level, msg, *args, exc_info=exc_info, extra=extra, stacklevel=3)
            return
        message = msg % args if args else msg
        settings = self.settings
        floor = DEBUG if settings.debug else INFO
        if level < floor:
            return
        when = time.time()
        if settings.facility:
            _to_syslog(settings, level, message)
        if settings.logfile:
            _to_file(settings.logfile, _line(settings, level, message, when))
        if settings.debuglog and settings.debuglog != settings.logfile:
            _to_file(settings.debuglog, _line(settings, level, message, when))
        if not settings.facility and not settings.logfile and not extra:
            _to_stream(self._stderr or sys.stderr, _line(settings, level, message, None))


def _line(settings: LogSettings, level: int, message: str, when: float | None) -> str:
    """``[date ]tag: LEVEL: message``, the shape of ocf_log's lines (no date: None)."""
    line = f"{printable(settings.tag)}: {_LEVEL_WORDS.get(level, str(level))}: {printable(message)}"
    return line if when is None else format_date(settings.datefmt, when) + line


def printable(text: str) -> str:
    """``text`` with every character that is not printable (but tab) as its Python escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


def _to_file(path: str, line: str) -> None:
    """Append a line, as ``>>`` does; a file that cannot be written is skipped."""
    try:  # noqa: SIM105 (contextlib is kept off the action path)
        append_to_log(path, (line + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _to_stream(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


_syslog_opened: list[str] = []


def _to_syslog(settings: LogSettings, level: int, message: str) -> None:
    """Through libc syslog(3), which drops lines quietly when no syslog daemon listens."""
    import syslog

    if settings.facility not in _syslog_opened:
        code = getattr(syslog, "LOG_" + (settings.facility or "").upper(), syslog.LOG_DAEMON)
        syslog.openlog(_c_string(printable(settings.tag)), 0, code)
        _syslog_opened.append(settings.facility or "")
    priorities = {
        DEBUG: syslog.LOG_DEBUG,
        INFO: syslog.LOG_INFO,
        WARNING: syslog.LOG_WARNING,
        ERROR: syslog.LOG_ERR,
        CRITICAL: syslog.LOG_CRIT,
    }
    text = f"{_LEVEL_WORDS.get(level, str(level))}: {printable(message)}"
    syslog.syslog(priorities.get(level, syslog.LOG_INFO), _c_string(text))


def _c_string(text: str) -> str:
    """Text syslog(3) accepts: no NUL and no lone surrogate.

    Python holds undecodable bytes of the environment as lone surrogates, which
    ``syslog.syslog`` refuses with an exception; they are written as ``\\udcXX``.
    """
    return text.replace("\0", " ").encode("utf-8", "backslashreplace").decode("utf-8")


_APPEND_FLAGS = (
    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
) | os.O_CLOEXEC


def append_to_log(path: str, data: bytes) -> None:
    """Append ``data`` to the log file at ``path``: never through a link, never blocking.

    Raises ``OSError`` for a symbolic link (``ELOOP``), a FIFO without a
    reader (``ENXIO``), anything but a regular file, or a file with more
    than one name (a hard link to a file elsewhere).
    """
    import errno
    import stat

    fd = os.open(path, _APPEND_FLAGS, 0o644)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise OSError(errno.EPERM, "not a regular file with a single link", path)
        os.write(fd, data)
    finally:
        os.close(fd)


def _build_logger(settings: LogSettings, stderr: TextIO) -> logging.Logger:
    import logging

    class OCFFormatter(logging.Formatter):
        """``[date ]tag: LEVEL: message``, the shape of ocf_log's lines."""

        def __init__(self, with_date: bool) -> None:
            super().__init__()
            self.with_date = with_date

        def format(self, record: logging.LogRecord) -> str:
            when = record.created if self.with_date else None
            lines = [record.getMessage()]
            if record.exc_info:
                # One tagged line each: a message in the traceback cannot forge a line.
                lines += self.formatException(record.exc_info).splitlines()
            return "\n".join(_line(settings, record.levelno, line, when) for line in lines)

    class AppendHandler(logging.Handler):
        """Appends each line to a file, as ``>>`` does; a file it cannot write is skipped."""

        def __init__(self, path: str, level: int) -> None:
            super().__init__(level)
            self.path = path

        def emit(self, record: logging.LogRecord) -> None:
            _to_file(self.path, self.format(record))

    class SyslogHandler(logging.Handler):
        """Through libc syslog(3), which drops lines quietly when no syslog daemon listens."""

        def emit(self, record: logging.LogRecord) -> None:
            _to_syslog(settings, record.levelno, record.getMessage())

    class StderrHandler(logging.Handler):
        def __init__(self, level: int) -> None:
            super().__init__(level)
            self.addFilter(lambda record: not getattr(record, _EXIT_REASON, False))

        def emit(self, record: logging.LogRecord) -> None:
            _to_stream(stderr, self.format(record))

    logger = logging.Logger(f"ocfkit.{settings.tag}", DEBUG if settings.debug else INFO)
    logger.propagate = False
    for captured in capture_handlers:
        logger.addHandler(captured)
    debug_level = DEBUG if settings.debug else INFO
    if settings.facility:
        logger.addHandler(SyslogHandler(debug_level))
    if settings.logfile:
        handler: logging.Handler = AppendHandler(settings.logfile, INFO)
        handler.setFormatter(OCFFormatter(with_date=True))
        logger.addHandler(handler)
    if settings.debuglog and settings.debuglog != settings.logfile:
        handler = AppendHandler(settings.debuglog, debug_level)
        handler.setFormatter(OCFFormatter(with_date=True))
        logger.addHandler(handler)
    if not settings.facility and not settings.logfile:
        handler = StderrHandler(debug_level)
        handler.setFormatter(OCFFormatter(with_date=False))
        logger.addHandler(handler)
    return logger
