"""Logging as ocf_log does it: where lines go, their tag, debug, and exit reasons."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ocfkit import GenericError
from ocfkit.log import AgentLog, LogSettings
from ocfkit.testing import OCFEnv

from .agents import Scripted, raising, run

DATE = r"\S+ \d\d \d\d:\d\d:\d\d "  # date +"%b %d %T " (the month name depends on the locale)


def logging_agent(*lines: tuple[str, str]) -> Scripted:
    """An agent whose start logs the given (level, message) lines."""

    def behave(agent: Scripted) -> object:
        for level, message in lines:
            getattr(agent.log, level)("%s", message)
        return None

    return Scripted(behave)


def env(**variables: str) -> OCFEnv:
    """Pacemaker's environment without HA_debug, plus ``variables``."""
    return OCFEnv(instance="rsc1").set(HA_debug=None).set(**variables)


def settings(**environ: str) -> LogSettings:
    return LogSettings.from_environ(environ, "agent")


# ------------------------------------------------------------------ the settings


def test_tag_is_type_instance_and_pid() -> None:
    assert settings(OCF_RESOURCE_INSTANCE="nfs:1").tag == f"agent(nfs:1)[{os.getpid()}]"
    assert settings().tag == f"agent[{os.getpid()}]"
    assert settings(OCF_RESOURCE_INSTANCE="a\nb").tag == f"agent(a b)[{os.getpid()}]"


@pytest.mark.parametrize(
    ("value", "debug"),
    [(None, False), ("", False), ("0", False), ("1", True), ("yes", True), ("2", True)],
)
def test_debug_only_when_ha_debug_is_set_and_not_0(value: str | None, debug: bool) -> None:
    environ = {} if value is None else {"HA_debug": value}
    assert settings(**environ).debug is debug


def test_facility_none_means_no_syslog() -> None:
    assert settings(HA_LOGFACILITY="none").facility is None
    assert settings(HA_LOGFACILITY="daemon").facility == "daemon"
    assert settings(HA_LOGFACILITY="").facility is None


# ------------------------------------------------------------------ where lines go


def test_stderr_when_neither_facility_nor_logfile() -> None:
    result = run(logging_agent(("info", "hello"), ("warning", "careful")), "start", env())
    tag = f"scripted(rsc1)[{os.getpid()}]"
    assert result.stderr == f"{tag}: INFO: hello\n{tag}: WARNING: careful\n"
    assert result.stdout == ""


def test_facility_none_logs_to_stderr() -> None:
    result = run(logging_agent(("info", "hello")), "start", env(HA_LOGFACILITY="none"))
    assert "INFO: hello" in result.stderr


def test_syslog_facility_keeps_stderr_quiet() -> None:
    """With a facility the lines go to syslog (dropped here, no daemon), not stderr."""
    result = run(logging_agent(("info", "hello")), "start", env(HA_LOGFACILITY="daemon"))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.logged("hello")


def test_syslog_survives_undecodable_bytes() -> None:
    """Values Python decoded with surrogateescape must not turn a log line into a crash."""
    odd = "node\udc80name"
    result = run(
        logging_agent(("info", odd)),
        "start",
        env(HA_LOGFACILITY="daemon", OCF_RESOURCE_INSTANCE="rsc\udcff"),
    )
    assert result.exit_code == 0
    assert result.exit_reason is None


def test_logfile_gets_dated_tagged_lines_appended(tmp_path: Path) -> None:
    logfile = tmp_path / "agent.log"
    logfile.write_text("earlier line\n")
    result = run(
        logging_agent(("info", "hello"), ("error", "broken")),
        "start",
        env(HA_LOGFILE=str(logfile), HA_LOGFACILITY="daemon"),
    )
    assert result.stderr == ""
    lines = logfile.read_text().splitlines()
    assert lines[0] == "earlier line"
    tag = re.escape(f"scripted(rsc1)[{os.getpid()}]")
    assert re.fullmatch(DATE + tag + ": INFO: hello", lines[1]), lines[1]
    assert re.fullmatch(DATE + tag + ": ERROR: broken", lines[2]), lines[2]


def test_ha_datefmt_is_honoured(tmp_path: Path) -> None:
    logfile = tmp_path / "agent.log"
    run(logging_agent(("info", "x")), "start", env(HA_LOGFILE=str(logfile), HA_DATEFMT="[%Y] "))
    assert re.match(r"\[\d{4}\] scripted\(rsc1\)", logfile.read_text())


@pytest.mark.parametrize(("ha_debug", "shown"), [(None, False), ("0", False), ("1", True)])
def test_debug_lines(tmp_path: Path, ha_debug: str | None, shown: bool) -> None:
    logfile, debuglog = tmp_path / "ha.log", tmp_path / "debug.log"
    variables = {"HA_LOGFILE": str(logfile), "HA_DEBUGLOG": str(debuglog)}
    if ha_debug is not None:
        variables["HA_debug"] = ha_debug
    run(logging_agent(("debug", "details"), ("info", "news")), "start", env(**variables))
    assert "INFO: news" in logfile.read_text()
    assert "INFO: news" in debuglog.read_text()
    # ha_debug writes to HA_DEBUGLOG, never to HA_LOGFILE.
    assert "details" not in logfile.read_text()
    assert ("DEBUG: details" in debuglog.read_text()) is shown


def test_debug_to_stderr_only_when_enabled() -> None:
    lines = (("debug", "details"),)
    assert "details" not in run(logging_agent(*lines), "start", env()).stderr
    assert "details" not in run(logging_agent(*lines), "start", env(HA_debug="0")).stderr
    assert "DEBUG: details" in run(logging_agent(*lines), "start", env(HA_debug="1")).stderr


def test_same_debuglog_and_logfile_get_each_line_once(tmp_path: Path) -> None:
    logfile = tmp_path / "ha.log"
    run(logging_agent(("info", "once")), "start",
        env(HA_LOGFILE=str(logfile), HA_DEBUGLOG=str(logfile)))  # fmt: skip
    assert logfile.read_text().count("once") == 1


# ------------------------------------------------------------------- exit reasons


def test_exit_reason_is_printed_once_and_logged(tmp_path: Path) -> None:
    failing = Scripted(raising(GenericError("disk on fire")))
    on_stderr = run(failing, "start", env())
    # Not repeated as a log line on stderr: Pacemaker logs stderr already.
    assert on_stderr.stderr == "ocf-exit-reason:disk on fire\n"
    logfile = tmp_path / "ha.log"
    in_file = run(Scripted(raising(GenericError("disk on fire"))), "start",
                  env(HA_LOGFILE=str(logfile)))  # fmt: skip
    assert in_file.stderr == "ocf-exit-reason:disk on fire\n"
    assert re.search(r": ERROR: disk on fire$", logfile.read_text(), re.MULTILINE)


@pytest.mark.parametrize(
    "where",
    ["{tmp}/no/such/dir/ha.log", "{tmp}", "/proc/version", "/dev/full"],
    ids=["missing-directory", "a-directory", "read-only", "disk-full"],
)
def test_unwritable_logfile_never_breaks_an_action(tmp_path: Path, where: str) -> None:
    path = where.format(tmp=tmp_path)
    ok = run(logging_agent(("info", "hello")), "start", env(HA_LOGFILE=path, HA_DEBUGLOG=path))
    assert ok.exit_code == 0
    assert "Traceback" not in ok.stderr
    failing = run(Scripted(raising(GenericError("bad"))), "start", env(HA_LOGFILE=path))
    assert failing.exit_code == 1
    assert failing.stderr == "ocf-exit-reason:bad\n"


# ------------------------------------------------ a log file others may put things at


def test_a_link_at_the_logfile_is_never_followed(tmp_path: Path) -> None:
    """Debian's /var/log/pacemaker is writable by haclient: a link there must lead nowhere."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    logfile = tmp_path / "ha.log"
    logfile.symlink_to(victim)
    ok = run(logging_agent(("info", "hello")), "start", env(HA_LOGFILE=str(logfile)))
    assert ok.exit_code == 0
    assert victim.read_text() == "precious\n"


def test_a_hard_link_at_the_logfile_is_not_written_to(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    logfile = tmp_path / "ha.log"
    os.link(victim, logfile)
    run(logging_agent(("info", "hello")), "start", env(HA_LOGFILE=str(logfile)))
    assert victim.read_text() == "precious\n"


def test_a_fifo_at_the_logfile_does_not_hang_the_agent(tmp_path: Path) -> None:
    fifo = tmp_path / "ha.log"
    os.mkfifo(fifo)
    program = (
        "import sys\n"
        "from ocfkit.log import AgentLog, LogSettings\n"
        "AgentLog(LogSettings('t', logfile=sys.argv[1])).info('hello')\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(fifo)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert done.stdout == "done\n"


def test_a_new_logfile_is_a_plain_file_of_roots(tmp_path: Path) -> None:
    logfile = tmp_path / "ha.log"
    run(logging_agent(("info", "hello")), "start", env(HA_LOGFILE=str(logfile)))
    info = logfile.lstat()
    assert stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
    assert "INFO: hello" in logfile.read_text()


# ------------------------------------------------------------------- the API


def test_messages_are_formatted_lazily_like_logging() -> None:
    stream = io.StringIO()
    log = AgentLog(LogSettings("t"), stderr=stream)
    log.info("%s has %d%%", "disk", 90)
    log.info("100% literal")
    log.debug("%s", "hidden")
    assert stream.getvalue() == "t: INFO: disk has 90%\nt: INFO: 100% literal\n"


def test_exception_logs_the_traceback() -> None:
    stream = io.StringIO()
    log = AgentLog(LogSettings("t"), stderr=stream)
    try:
        raise LookupError("lost")
    except LookupError:
        log.exception("while %s", "looking")
    text = stream.getvalue()
    assert text.startswith("t: ERROR: while looking\nt: ERROR: Traceback (most recent call last):")
    assert "t: ERROR: LookupError: lost\n" in text


HOSTILE = "ok\nDec 24 00:00:00 other(x)[1]: CRIT: forged\r\x1b[2J\x00\u2028\x85end"


def test_a_message_never_breaks_into_a_line_of_its_own(tmp_path: Path) -> None:
    logfile = tmp_path / "agent.log"
    stream = io.StringIO()
    settings = LogSettings("t\x1b]0;x\x07", logfile=str(logfile))
    AgentLog(settings, stderr=stream).error("value %s", HOSTILE)
    AgentLog(LogSettings("t"), stderr=stream).info("%s", HOSTILE)
    lines = logfile.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        "t\\x1b]0;x\\x07: ERROR: value ok\\nDec 24 00:00:00 other(x)[1]: CRIT: forged"
        "\\r\\x1b[2J\\x00\\u2028\\x85end"
    )
    assert stream.getvalue().count("\n") == 1
    assert stream.getvalue()[:-1].isprintable()


def test_a_traceback_carrying_a_hostile_message_forges_no_line() -> None:
    stream = io.StringIO()
    log = AgentLog(LogSettings("t"), stderr=stream)
    try:
        raise LookupError(HOSTILE)
    except LookupError:
        log.exception("failed")
    for line in stream.getvalue().splitlines():
        assert line.startswith("t: ERROR: "), line
        assert line.isprintable()


def test_syslog_gets_printable_text_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import syslog

    from ocfkit import log

    sent: list[str] = []
    monkeypatch.setattr(log, "_syslog_opened", [])
    monkeypatch.setattr(syslog, "openlog", lambda ident, *args: sent.append(ident))
    monkeypatch.setattr(syslog, "syslog", lambda priority, message: sent.append(message))
    AgentLog(LogSettings("t\x1b[2J", facility="daemon")).info("%s", HOSTILE)
    assert len(sent) == 2
    assert all(each.isprintable() for each in sent), sent


def test_an_exit_reason_is_one_printable_line() -> None:
    result = run(Scripted(raising(GenericError(HOSTILE))), "start", env())
    assert result.stderr.count("\n") == 1
    assert result.exit_reason is not None and result.exit_reason.isprintable()
    assert "\\x1b[2J" in result.exit_reason


def test_exit_reason_logged_everywhere_but_stderr(tmp_path: Path) -> None:
    stream = io.StringIO()
    logfile = tmp_path / "x.log"
    AgentLog(LogSettings("t"), stderr=stream).exit_reason("why")
    assert stream.getvalue() == ""
    AgentLog(LogSettings("t", logfile=str(logfile)), stderr=stream).exit_reason("why")
    assert logfile.read_text().endswith("t: ERROR: why\n")


def test_ha_datefmt_nanoseconds_as_date_gives_them(tmp_path: Path) -> None:
    """``%N`` is date(1)'s, which ocf_log uses; strftime alone would print it as is."""
    logfile = tmp_path / "agent.log"
    run(logging_agent(("info", "x")), "start", env(HA_LOGFILE=str(logfile), HA_DATEFMT="%S.%N "))
    assert re.match(r"\d\d\.\d{9} scripted\(rsc1\)", logfile.read_text())
