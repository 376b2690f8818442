"""`make bench`: run every bench/bench_*.py module and print its figures, with targets.

A module provides `run(report: Report) -> None` and records what it measured with
`report.measure(...)` or `report.ratio(...)`. Figures from one run are comparable with each
other (same machine, same load), so targets are stated as ratios where possible. The results are
also written to test-artifacts/bench.json.

    python -m bench                 # every module
    python -m bench upload kdf      # bench_upload.py and bench_kdf.py only
"""

import argparse
import importlib
import json
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR.parent / "test-artifacts" / "bench.json"


@dataclass(frozen=True)
class Figure:
    module: str
    name: str
    value: float
    unit: str
    target: str | None
    met: bool | None


class Report:
    """Collects the figures of a run and prints each as it arrives."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.module = ""

    def measure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        at_most: float | None = None,
        at_least: float | None = None,
    ) -> float:
        """Record a figure; with a bound, also whether it meets the target."""
        target, met = None, None
        if at_most is not None:
            target, met = f"<= {at_most:g} {unit}", value <= at_most
        if at_least is not None:
            target = f">= {at_least:g} {unit}"
            met = value >= at_least if met is None else met and value >= at_least
        figure = Figure(self.module, name, value, unit, target, met)
        self.figures.append(figure)
        print(_format(figure), flush=True)
        return value

    def ratio(
        self, name: str, numerator: float, denominator: float, *, at_least: float | None = None
    ) -> float:
        """Record numerator / denominator (e.g. our throughput over gpg's alone)."""
        value = numerator / denominator if denominator else float("nan")
        return self.measure(name, value, "x", at_least=at_least)


def _format(figure: Figure) -> str:
    verdict = ""
    if figure.target is not None:
        verdict = f"   target {figure.target}: {'met' if figure.met else 'MISSED'}"
    return f"  {figure.name:<58} {figure.value:>10.3f} {figure.unit:<6}{verdict}"


def bench_modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if selected:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"No such benchmark: {', '.join(sorted(unknown))} (have: {names})")
        names = [n for n in names if n in wanted]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="run only these modules (e.g. upload)")
    args = parser.parse_args(argv)
    report = Report()
    failed: list[str] = []
    modules = bench_modules(args.names)
    if not modules:
        print("No bench/bench_*.py modules yet.")
        return 1
    for name in modules:
        print(f"{name}:", flush=True)
        report.module = name
        started = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            module.run(report)
        except Exception:  # noqa: BLE001 (one broken benchmark must not hide the others)
            traceback.print_exc()
            failed.append(name)
        print(f"  ({time.monotonic() - started:.1f} s)", flush=True)
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps([asdict(f) for f in report.figures], indent=2) + "\n")
    missed = [f for f in report.figures if f.met is False]
    print()
    print(
        f"{len(report.figures)} figures from {len(modules)} modules; "
        f"{len(missed)} targets missed; results in {RESULTS_FILE}"
    )
    if failed:
        print(f"FAILED to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
