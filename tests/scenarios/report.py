"""The scenarios' figures on disk: ``reports/scenarios.json`` and a readable ``scenarios.md``.

Each pytest session adds one run to the JSON (the last :data:`KEEP` are
kept), so several runs in a row give the spread of every figure; the
Markdown file is rewritten from all kept runs: per scenario a table of the
figures (this run, min, median, max) and this run's timeline.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from tests.scenarios.timeline import Timeline

KEEP = 20
#: Where the reports go; the repository's git-ignored reports/ by default.
DIRECTORY = Path(os.environ.get("OCFKIT_SCENARIO_REPORTS", Path(__file__).parents[2] / "reports"))


class Report:
    def __init__(self, directory: Path = DIRECTORY) -> None:
        self.directory = directory
        self.started = time.time()
        self.timelines: dict[str, Timeline] = {}
        self.extra: dict[str, Any] = {}

    def add(self, timeline: Timeline) -> None:
        self.timelines[timeline.scenario] = timeline

    def write(self) -> tuple[Path, Path]:
        self.directory.mkdir(parents=True, exist_ok=True)
        json_path = self.directory / "scenarios.json"
        runs: list[dict[str, Any]] = []
        if json_path.exists():
            try:
                runs = json.loads(json_path.read_text())["runs"]
            except (ValueError, KeyError, TypeError):
                runs = []
        runs.append(
            {
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
                "seconds": round(time.time() - self.started, 1),
                "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
                **self.extra,
                "scenarios": {name: t.to_dict() for name, t in self.timelines.items()},
            }
        )
        runs = runs[-KEEP:]
        json_path.write_text(json.dumps({"runs": runs}, indent=1) + "\n")
        md_path = self.directory / "scenarios.md"
        md_path.write_text(markdown(runs, self.timelines))
        return json_path, md_path


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"{min(values):.3f} | {statistics.median(values):.3f} | {max(values):.3f} | {len(values)}"
    )


def markdown(runs: list[dict[str, Any]], latest: dict[str, Timeline]) -> str:
    out = [
        "# NFS-Ganesha HA scenarios on the real engine",
        "",
        f"{len(runs)} run(s) kept; the last one started {runs[-1]['started']} "
        f"and took {runs[-1]['seconds']} s.  Seconds throughout.",
        "",
    ]
    names = list(dict.fromkeys(name for run in runs for name in run["scenarios"]))
    for name in names:
        out += [f"## {name}", ""]
        figures = list(
            dict.fromkeys(
                f for run in runs for f in run["scenarios"].get(name, {}).get("figures", {})
            )
        )
        if figures:
            out += [
                "| figure | this run | min | median | max | runs |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for figure in figures:
                values = [
                    run["scenarios"][name]["figures"][figure]
                    for run in runs
                    if figure in run["scenarios"].get(name, {}).get("figures", {})
                ]
                this = latest[name].figures.get(figure) if name in latest else None
                shown = "-" if this is None else f"{this:.3f}"
                out.append(f"| {figure} | {shown} | {_spread(values)} |")
            out.append("")
        counts = list(
            dict.fromkeys(
                c for run in runs for c in run["scenarios"].get(name, {}).get("counts", {})
            )
        )
        if counts:
            out += ["| count | this run | total | runs |", "| --- | --- | --- | --- |"]
            for count in counts:
                values = [
                    run["scenarios"][name]["counts"][count]
                    for run in runs
                    if count in run["scenarios"].get(name, {}).get("counts", {})
                ]
                this = latest[name].counts.get(count) if name in latest else None
                shown = "-" if this is None else str(this)
                out.append(f"| {count} | {shown} | {sum(values)} | {len(values)} |")
            out.append("")
        if name in latest:
            out += ["```", latest[name].render(), "```", ""]
    return "\n".join(out)
