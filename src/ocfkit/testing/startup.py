"""What an agent costs as a whole process, and which of its imports cost most.

Pacemaker forks an agent for every monitor, on every node, every few seconds;
an author sees none of that in-process.  ``ocfkit check`` therefore runs the
installed executable (or a temporary shim of the agent) the way Pacemaker
does, a few times each for monitor and meta-data, next to a bare
``python3 -I -S -c pass`` of the same interpreter, and runs the monitor once
more under ``-X importtime`` to name the imports that cost most.  The figures
are medians of a few runs on a machine doing other things: a guide, not a
benchmark (``./dev bench`` is the benchmark).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

RUNS = 11
TOP_IMPORTS = 6


@attrs.frozen
class ImportCost:
    """One line of ``-X importtime``: microseconds spent in the module itself and in all."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


@attrs.frozen
class StartupCost:
    executable: str
    runs: int
    monitor_ms: float
    monitor_code: int
    meta_data_ms: float
    python_ms: float | None = None
    imports_ms: float | None = None
    imports: tuple[ImportCost, ...] = ()

    def render(self) -> list[str]:
        def ratio(ms: float) -> str:
            return f" ({ms / self.python_ms:.1f}x bare python)" if self.python_ms else ""

        lines = [f"Start-up cost, whole processes (median of {self.runs}):"]
        if self.python_ms:
            lines.append(f"  python3 -I -S -c pass  {self.python_ms:6.1f} ms")
        lines.append(
            f"  monitor                {self.monitor_ms:6.1f} ms{ratio(self.monitor_ms)}"
            + ("" if self.monitor_code in (0, 7) else f", exit code {self.monitor_code}")
        )
        lines.append(
            f"  meta-data              {self.meta_data_ms:6.1f} ms{ratio(self.meta_data_ms)}"
        )
        if self.imports_ms is not None:
            lines.append(
                f"  imports of one monitor {self.imports_ms:6.1f} ms; the most expensive "
                "(own time, then with what they import):"
            )
            lines += [
                f"    {c.module:<34} {c.self_us / 1000:5.1f} ms  {c.cumulative_us / 1000:5.1f} ms"
                for c in self.imports
            ]
            lines.append("  (docs/performance.md, 'For agent authors', on keeping them down)")
        return lines


def interpreter_of(path: str) -> list[str] | None:
    """The interpreter and flags a Python script's shebang names, or ``None``."""
    try:
        with open(path, "rb") as stream:
            first = stream.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if not words or "python" not in Path(words[0]).name:
        return None
    flags = [w for w in words[1:] if w.startswith("-")]
    return [words[0], *flags]


def parse_importtime(stderr: str) -> list[ImportCost]:
    """The ``import time:`` lines of ``-X importtime`` (header and other lines skipped)."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].rstrip()
        stripped = name.lstrip()
        depth = (len(name) - len(stripped)) // 2
        found.append(ImportCost(stripped, int(parts[0]), int(parts[1]), depth))
    return found


def _median_ms(argv: Sequence[str], env: Mapping[str, str], runs: int) -> tuple[float, int]:
    samples = []
    code = 0
    for _ in range(runs + 1):  # one more, unmeasured, to warm the page cache
        started = time.perf_counter()
        done = subprocess.run(
            list(argv), env=dict(env), capture_output=True, timeout=60, check=False, cwd="/"
        )
        samples.append((time.perf_counter() - started) * 1000)
        code = done.returncode
    return statistics.median(samples[1:]), code


def _importtime(argv: Sequence[str], env: Mapping[str, str]) -> list[ImportCost]:
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=dict(env),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
        cwd="/",
    )
    return parse_importtime(done.stderr)


def measure(
    path: str,
    monitor_env: Mapping[str, str],
    meta_env: Mapping[str, str],
    runs: int = RUNS,
) -> StartupCost:
    """Time ``path monitor`` and ``path meta-data`` as whole processes; profile one monitor."""
    monitor_ms, monitor_code = _median_ms([path, "monitor"], monitor_env, runs)
    meta_data_ms, _ = _median_ms([path, "meta-data"], meta_env, runs)
    interpreter = interpreter_of(path)
    if interpreter is None:
        return StartupCost(path, runs, monitor_ms, monitor_code, meta_data_ms)
    python_ms, _ = _median_ms([interpreter[0], "-I", "-S", "-c", "pass"], meta_env, runs)
    # What the interpreter imports by itself is no import of the agent's.
    bare = {c.module for c in _importtime([*interpreter, "-c", "pass"], meta_env)}
    costs = [
        c for c in _importtime([*interpreter, path, "monitor"], monitor_env) if c.module not in bare
    ]
    total = sum(c.cumulative_us for c in costs if c.depth == 0) / 1000
    top = sorted(costs, key=lambda c: c.self_us, reverse=True)[:TOP_IMPORTS]
    return StartupCost(
        path, runs, monitor_ms, monitor_code, meta_data_ms, python_ms, total, tuple(top)
    )
