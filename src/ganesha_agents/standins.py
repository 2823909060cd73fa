"""Stand-ins for running the installed agents as whole processes without a cluster.

The in-memory fakes (``ganesha_agents.fakes``) serve in-process tests; a
benchmark or an import check runs the agents the way Pacemaker does, as
programs, and needs the outside world to answer instead: a process that holds
ganesha.nfsd's pid file lock under its name, and an ``attrd_updater`` that
answers like Pacemaker 2.1.5's.  Neither does anything else.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ATTRD_UPDATER = """#!/bin/sh
# Stands in for Pacemaker 2.1.5's attrd_updater: updates succeed, a query
# answers {value!r} for whatever was asked, in the tool's XML.{record}
name=""
query=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) name="$2"; shift ;;
    -Q) query=yes ;;
  esac
  shift
done
if [ -n "$query" ]; then
  echo '<pacemaker-result api-version="2.25" request="attrd_updater">'
  echo "  <attribute name=\\"$name\\" value=\\"{value}\\" host=\\"standin\\"/>"
  echo '  <status code="0" message="OK"/>'
  echo '</pacemaker-result>'
fi
exit 0
"""

_LOCK_HOLDER = """
import ctypes, fcntl, os, sys, time
ctypes.CDLL(None).prctl(15, b"ganesha.nfsd", 0, 0, 0)  # PR_SET_NAME: /proc/PID/comm
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, f"{os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(3600)
"""


# Appends "<epoch seconds> <arguments>" for every call, when asked to.
_RECORD = """
printf '%s %s\\n' "$(date +%s.%N)" "$*" >> '{calls}'"""


def write_attrd_updater(directory: Path, value: str = "1", calls: Path | None = None) -> Path:
    """An executable ``attrd_updater`` in ``directory``; put it first on PATH.

    With ``calls``, every run appends its time and arguments to that file
    (for tests that check what was signalled, when, and how often).
    """
    path = directory / "attrd_updater"
    if calls is not None and "'" in str(calls):
        raise ValueError(f"{calls}: a path with a quote cannot be written into the script")
    record = "" if calls is None else _RECORD.format(calls=calls)
    path.write_text(ATTRD_UPDATER.format(value=value, record=record))
    path.chmod(0o755)
    return path


@contextmanager
def ganesha_pid_holder(pid_file: Path) -> Iterator[int]:
    """A process named ganesha.nfsd holding ``pid_file``'s lock, as a running ganesha does."""
    holder = subprocess.Popen(
        [sys.executable, "-I", "-c", _LOCK_HOLDER, str(pid_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "locked":
            raise RuntimeError("the pid file lock holder did not start")
        yield holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=10)
