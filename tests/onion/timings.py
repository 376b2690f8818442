"""Measured figures of the onion tests, collected in test-artifacts/onion-timings.json."""

from __future__ import annotations

import json
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "test-artifacts" / "onion-timings.json"


def record_timing(name: str, value: float) -> None:
    """Add one figure to the report (read, update, write: tests may run in any order)."""
    REPORT.parent.mkdir(exist_ok=True)
    try:
        figures = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        figures = {}
    figures[name] = round(value, 2)
    REPORT.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\n[onion timing] {name} = {value:.2f}")
