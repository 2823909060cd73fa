"""Running the programs the lab is made of: argv lists, a timeout every time.

Failures become :class:`LabError` with the program's own words, because the
person reading a failed lab test needs ``ip: RTNETLINK answers: File exists``,
not a traceback from the subprocess module.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ocfkit.lab.errors import LabError, LabTimeout

#: The environment daemons start with: nothing inherited from whoever runs the lab.
DAEMON_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


def describe(argv: Sequence[str]) -> str:
    return " ".join(argv)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run to completion, capturing text output."""
    try:
        done = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=dict(env) if env is not None else None,
            stdin=None if input is not None else subprocess.DEVNULL,
            cwd="/",
            check=False,
        )
    except FileNotFoundError as error:
        raise LabError(f"{argv[0]}: program not found") from error
    except subprocess.TimeoutExpired as error:
        raise LabTimeout(f"{describe(argv)}: no answer within {timeout:g}s") from error
    if check and done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise LabError(f"{describe(argv)} exited {done.returncode}: {said}")
    return done


def spawn(
    argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running program in a session of its own, output appended to ``log``.

    A session of its own, so that Ctrl-C on the terminal that ran ``ocfkit lab
    up`` does not reach the cluster.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        try:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=dict(env if env is not None else DAEMON_ENV),
                cwd="/",
                start_new_session=True,
            )
        except FileNotFoundError as error:
            raise LabError(f"{argv[0]}: program not found") from error


def host_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus ``extra``: what commands run for a user inherit."""
    environ = dict(os.environ)
    environ.update(extra or {})
    return environ
