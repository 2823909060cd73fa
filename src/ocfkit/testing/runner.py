"""Run an agent action in-process, the way click's CliRunner runs a command.

Standard streams and ``os.environ`` are swapped for the duration of the call,
log records are collected, and the result carries everything Pacemaker would
see: the exit code, stdout, stderr and the exit reason it would extract.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs

from ocfkit import log as ocf_log
from ocfkit.agent import ResourceAgent
from ocfkit.codes import ExitCode

DEFAULT_PREFIX = "ocf-exit-reason:"

AgentFactory = Callable[[], ResourceAgent[Any]]


def extract_exit_reason(stderr: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """What Pacemaker keeps: the text after the LAST prefix, to the end of that line."""
    at = stderr.rfind(prefix)
    if at < 0:
        return None
    return stderr[at + len(prefix) :].split("\n", 1)[0]


@attrs.frozen
class Result:
    """The outcome of one action."""

    action: str
    exit_code: int
    stdout: str
    stderr: str
    records: tuple[logging.LogRecord, ...] = ()
    prefix: str = DEFAULT_PREFIX

    @property
    def code(self) -> ExitCode | int:
        try:
            return ExitCode(self.exit_code)
        except ValueError:
            return self.exit_code

    @property
    def exit_reason(self) -> str | None:
        return extract_exit_reason(self.stderr, self.prefix)

    @property
    def messages(self) -> list[str]:
        """The log messages, formatted."""
        return [r.getMessage() for r in self.records]

    def logged(self, fragment: str, level: int | None = None) -> bool:
        """Whether any log message contains ``fragment`` (at ``level``, if given)."""
        return any(
            fragment in r.getMessage() and (level is None or r.levelno == level)
            for r in self.records
        )

    def __repr__(self) -> str:
        reason = f" reason={self.exit_reason!r}" if self.exit_reason else ""
        return f"<Result {self.action} -> {ExitCode.describe(self.exit_code)}{reason}>"


@contextmanager
def isolation(environ: Mapping[str, str]) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Swap stdout, stderr and ``os.environ`` for the duration of the block."""
    saved_env = dict(os.environ)
    saved_out, saved_err = sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(environ)
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        os.environ.clear()
        os.environ.update(saved_env)


@contextmanager
def capture_records() -> Iterator[list[logging.LogRecord]]:
    """Collect the records of every agent log built inside the block."""
    records: list[logging.LogRecord] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collector(logging.DEBUG)
    ocf_log.capture_handlers.append(handler)
    try:
        yield records
    finally:
        ocf_log.capture_handlers.remove(handler)


class AgentRunner:
    """Invokes actions of an agent in-process.

    ``agent`` may be an instance (reused: state lives on in its collaborators)
    or a factory called once per action, which is what Pacemaker's
    process-per-action model looks like.
    """

    def __init__(self, agent: ResourceAgent[Any] | AgentFactory) -> None:
        self.agent = agent

    def invoke(self, action: str | None, environ: Mapping[str, str] | None = None) -> Result:
        agent = self.agent if isinstance(self.agent, ResourceAgent) else self.agent()
        env = dict(environ or {})
        argv = [agent.name] if action is None else [agent.name, action]
        with capture_records() as records, isolation(env) as (out, err):
            code = agent.main(argv, env)
        return Result(
            action=action or "",
            exit_code=code,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            records=tuple(records),
            prefix=env.get("OCF_EXIT_REASON_PREFIX") or DEFAULT_PREFIX,
        )
