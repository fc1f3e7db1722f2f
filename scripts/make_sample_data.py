"""Regenerate the sample data under data/ that the default config.toml reads.

Deterministic (seeded), so a re-run gives the same files: `python scripts/make_sample_data.py`.
Covers 2026-Q3 (for previous-period baselines) and 2026-Q4 through Monday 2026-11-23: the tests
pin these dates. `sheetsync init` writes the same data for the current quarter instead
(`sheetsync.runtime.sample_data`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sheetsync.core.periods import parse_period
from sheetsync.runtime.sample_data import write_sample_data

DATA = Path(__file__).resolve().parent.parent / "data"
PERIOD, LAST = parse_period("2026-Q4"), date(2026, 11, 23)


def main() -> None:
    write_sample_data(DATA, PERIOD, LAST)


if __name__ == "__main__":
    main()
