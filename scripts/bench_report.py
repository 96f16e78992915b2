"""The bench's report: each figure beside its raw baseline, as a table and as JSON."""

from __future__ import annotations

import argparse
import math
import resource
import sys
from dataclasses import dataclass, field
from typing import Any

from scripts import bench_http


@dataclass
class Figure:
    name: str
    count: int
    seconds: float
    unit: str = "ops"
    baseline: str | None = None  # the name of the raw figure to compare with
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.inf


@dataclass
class Report:
    machine: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    http: list[bench_http.HttpFigure] = field(default_factory=list)
    load_generator: str = "asyncio"  # of the query stage: "wrk" or "asyncio"

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(f"  {figure.name:<44} {figure.count:>9} {figure.unit:<7} "
              f"{figure.seconds:>8.2f} s {figure.rate:>10.0f}/s", flush=True)
        return figure

    def stage_done(self, stage: str) -> None:
        self.rss_mb[stage] = peak_rss_mb()


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def print_table(report: Report, args: argparse.Namespace) -> None:
    m = report.machine
    print(f"\nProgram Ledger bench — {m['date']}")
    print(f"machine: {m['cores']} cores ({m['cpu']}), {m['platform']}")
    print(f"python {m['python']}, PostgreSQL {m['postgresql']} {m['postgresql_settings']}")
    print(f"command: scripts/bench.py --events {args.events} --commands {args.commands} "
          f"--threads {args.threads} --batch {args.batch}\n")
    rates = {f.name: f.rate for f in report.figures}
    print(f"| {'figure':<46} | {'count':>9} | {'seconds':>8} | {'rate/s':>9} | "
          f"{'raw PostgreSQL /s':>17} | {'ratio':>6} |")
    print(f"|{'-' * 48}|{'-' * 11}|{'-' * 10}|{'-' * 11}|{'-' * 19}|{'-' * 8}|")
    for f in report.figures:
        raw = rates.get(f.baseline or "")
        ratio = f"{f.rate / raw:.2f}" if raw else ""
        raw_text = f"{raw:.0f}" if raw else ""
        print(f"| {f.name:<46} | {f.count:>9} | {f.seconds:>8.2f} | {f.rate:>9.0f} | "
              f"{raw_text:>17} | {ratio:>6} |")
    print("\n" + "\n".join(f"- {f.name}: {f.note}" for f in report.figures if f.note))
    print("peak RSS (MiB) after each stage: "
          + ", ".join(f"{stage} {mb:.0f}" for stage, mb in report.rss_mb.items()))
    for note in report.notes:
        print(f"note: {note}")
    if report.http:
        bench_http.print_tables(report.http, rates)


def as_json(report: Report, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": report.machine,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "figures": [
            {"name": f.name, "count": f.count, "unit": f.unit, "seconds": round(f.seconds, 3),
             "rate_per_s": round(f.rate, 1), "baseline": f.baseline, "note": f.note}
            for f in report.figures
        ],
        "peak_rss_mib": {k: round(v, 1) for k, v in report.rss_mb.items()},
        "notes": report.notes,
        "http": bench_http.as_json(report.http, generator=report.load_generator),
    }
