"""The report command: every path many times, on each stack, with the invariant on every move.

    ./dev scenarios --runs 20                      # the project's stack
    ./dev scenarios --runs 20 --gluster37 DIR      # and GlusterFS 3.7's agents beside it

``DIR`` holds GlusterFS 3.7's ``ganesha_mon`` and ``ganesha_grace`` shell
agents (for instance from the v3.7.20 tag of the GlusterFS sources); this
project ships none of their code.  Each stack gets its own four-node lab;
each run of each path starts from a healthy cluster.  The figures (min /
median / max over the runs) and the number of moves that broke the invariant
go to ``reports/campaign.json`` and ``reports/campaign.md`` (git-ignored), and
are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ocfkit.lab import LabError
from tests.scenarios.ha import HaCluster, new_lab
from tests.scenarios.paths import PATHS, PathRun
from tests.scenarios.stack import COMPAT, TAKEOVER, Stack, gluster37

REPORTS = Path(os.environ.get("OCFKIT_SCENARIO_REPORTS", Path(__file__).parents[2] / "reports"))


def run_stack(stack: Stack, paths: list[str], runs: int, log: Any) -> list[PathRun]:
    """Every path ``runs`` times on a fresh lab for ``stack``."""
    workdir = Path(tempfile.mkdtemp(prefix="olab-cp-", dir="/var/tmp"))
    workdir.chmod(0o755)
    ha = HaCluster(new_lab(str(workdir), stack), stack)
    done: list[PathRun] = []
    try:
        print(f"[{stack.name}] bringing the lab up", file=log, flush=True)
        ha.bring_up()
        for number in range(1, runs + 1):
            for path in paths:
                try:
                    ha.restore()
                except LabError:
                    ha.rebuild()
                    ha.restore()
                began = time.monotonic()
                results = PATHS[path](ha)
                done += results
                broken = sum(len(r.violations) for r in results)
                clients = sum(len(r.client_problems) for r in results)
                print(
                    f"[{stack.name}] run {number}/{runs} {path}: {time.monotonic() - began:.1f}s, "
                    f"{broken} violation(s), {clients} client problem(s)",
                    file=log,
                    flush=True,
                )
                for result in results:
                    for violation in result.violations + result.client_problems:
                        print(f"    {result.path}: {violation}", file=log, flush=True)
    finally:
        ha.lab.down(graceful=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return done


def summarise(results: list[PathRun]) -> dict[str, Any]:
    """{stack: {path part: {moves, violations, client problems, figures: {name: [values]},
    counts: {name: total}}}}."""
    out: dict[str, Any] = {}
    for result in results:
        part = out.setdefault(result.stack, {}).setdefault(
            result.path,
            {
                "runs": 0,
                "moves": 0,
                "broken_runs": 0,
                "broken_moves": 0,
                "violations": [],
                "failures": [],
                "client_problems": [],
                "figures": {},
                "counts": {},
            },
        )
        part["runs"] += 1
        part["moves"] += len(result.verdicts)
        part["broken_moves"] += sum(1 for verdict in result.verdicts if not verdict.ok)
        part["broken_runs"] += 1 if result.violations else 0
        part["violations"] += result.violations
        part["failures"] += result.new_failures
        part["client_problems"] += result.client_problems
        for name, value in result.timeline.figures.items():
            part["figures"].setdefault(name, []).append(value)
        for name, number in result.timeline.counts.items():
            part["counts"][name] = part["counts"].get(name, 0) + number
    return out


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} | {statistics.median(values):.3f} | {max(values):.3f}"


def markdown(summary: dict[str, Any], runs: int, seconds: float) -> str:
    lines = [
        "# Every path of a VIP move, on the real engine",
        "",
        f"{runs} run(s) of each path per stack; {seconds / 60:.0f} minutes in all.  Seconds.",
        "",
    ]
    for stack, parts in summary.items():
        lines += [
            f"## {stack}",
            "",
            "| path | figure | min | median | max | n |",
            "|---|---|---|---|---|---|",
        ]
        for path, part in parts.items():
            for name, values in part["figures"].items():
                lines.append(f"| {path} | {name} | {spread(values)} | {len(values)} |")
        lines += [
            "",
            "| path | runs | moves | runs with a move that broke the invariant "
            "| moves that broke it | violations | failed actions |",
            "|---|---|---|---|---|---|---|",
        ]
        for path, part in parts.items():
            lines.append(
                f"| {path} | {part['runs']} | {part['moves']} | {part['broken_runs']} "
                f"| {part['broken_moves']} | {len(part['violations'])} "
                f"| {len(part['failures'])} |"
            )
        counted = [(path, part) for path, part in parts.items() if part["counts"]]
        if counted:
            lines += ["", "| path | count | total | runs |", "|---|---|---|---|"]
            for path, part in counted:
                for name, total in part["counts"].items():
                    lines.append(f"| {path} | {name} | {total} | {part['runs']} |")
        examples = sorted({v for part in parts.values() for v in part["violations"]})
        if examples:
            lines += ["", "Violations seen:", ""] + [f"- {v}" for v in examples[:20]]
        problems = sorted({v for part in parts.values() for v in part["client_problems"]})
        if problems:
            lines += ["", "What the NFS clients met:", ""] + [f"- {v}" for v in problems[:20]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev scenarios", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each path (default 20)")
    parser.add_argument(
        "--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}"
    )
    parser.add_argument(
        "--gluster37",
        type=Path,
        metavar="DIR",
        help="also measure GlusterFS 3.7's shell agents found in DIR, with 3.7's layout",
    )
    parser.add_argument(
        "--compat",
        action="store_true",
        help="also measure the new agents with GlusterFS 3.7's layout",
    )
    parser.add_argument("--no-takeover", action="store_true", help="skip the project's stack")
    args = parser.parse_args(argv)
    paths = [p for p in args.paths.split(",") if p]
    unknown = [p for p in paths if p not in PATHS]
    if unknown or args.runs < 1:
        parser.error(f"unknown path(s): {' '.join(unknown)}" if unknown else "--runs must be >= 1")
    if os.geteuid() != 0:
        parser.error("the scenarios need root (namespaces, mounts, cluster daemons)")
    stacks: list[Stack] = [] if args.no_takeover else [TAKEOVER]
    if args.compat:
        stacks.append(COMPAT)
    if args.gluster37 is not None:
        try:
            stacks.append(gluster37(args.gluster37.resolve()))
        except ValueError as error:
            parser.error(str(error))
    began = time.monotonic()
    results: list[PathRun] = []
    for stack in stacks:
        results += run_stack(stack, paths, args.runs, sys.stderr)
    seconds = time.monotonic() - began
    summary = summarise(results)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "campaign.json").write_text(
        json.dumps(
            {
                "runs": args.runs,
                "seconds": round(seconds),
                "summary": summary,
                "timelines": [r.timeline.to_dict() for r in results],
            },
            indent=1,
        )
        + "\n"
    )
    text = markdown(summary, args.runs, seconds)
    (REPORTS / "campaign.md").write_text(text)
    print(text)
    broken = any(r.violations for r in results if r.stack != "gluster37")
    # GlusterFS 3.7's layout takes no records over on failback: only the project's stack must
    # keep every client's state.
    lost = any(r.client_problems for r in results if r.stack == TAKEOVER.name)
    return 1 if broken or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
