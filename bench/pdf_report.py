"""The PDF report at organisation scale: `python -m bench.pdf_report [KRS]` (default 5,000).

The report's cost is layout, not reading sources, so the organisation is built directly
as a sync result with the large benchmark org's shape (`bench.orgs.SIZES["large"]`: 500
teams, ten key results each, one KPI per key result with a weekly series) and mixed
statuses. Prints the render time, the PDF's size and its page count; one JSON line with
`--json`.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import timedelta

from bench.orgs import AS_OF, SIZES
from sheetsync.core.digest import build_digest
from sheetsync.core.key_results import KeyResultResult
from sheetsync.core.kpis import KPIResult, SeriesPoint
from sheetsync.core.model import DigestConfig
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import parse_period
from sheetsync.core.results import SyncResult

STATUSES = ("done", "on_track", "on_track", "at_risk", "off_track", "no_data")


def organisation(krs: int, per_objective: int = 10, seed: int = 20261124) -> SyncResult:
    rng = random.Random(seed)
    period = parse_period("2026-Q4")
    expected = period.expected(AS_OF)
    objectives, kpis = [], []
    weeks = [AS_OF - timedelta(days=7 * n + 2) for n in range(8, 0, -1)]
    for o in range((krs + per_objective - 1) // per_objective):
        lines = []
        for k in range(min(per_objective, krs - o * per_objective)):
            kr_id, kpi_id = f"T{o:03d}-KR{k + 1}", f"t{o:03d}_kpi{k + 1}"
            status = rng.choice(STATUSES)
            progress = None if status == "no_data" else rng.random()
            current = None if progress is None else round(1000 + 4000 * progress, 1)
            lines.append(KeyResultResult(
                kr_id, f"Team {o} key result {k + 1}: grow orders through channel {k}", kpi_id, f"T{o:03d}",
                f"Owner {o}.{k}", 1000.0, 5000.0, current, progress, progress, expected, status, 1.0, "increase",
                stale="source 'orders' failed: HTTP 503" if status == "no_data" else None,
            ))
            series = tuple(SeriesPoint(f"w{i}", d - timedelta(days=6), d, 1000 + rng.random() * 4000, True)
                           for i, d in enumerate(weeks))
            kpi_status = rng.choice(("on_track", "at_risk", "off_track", "no_target"))
            kpis.append(KPIResult(kpi_id, f"Orders, team {o} channel {k}", "", "increase", 4500.0, 3000.0,
                                  current, series[-1].value, kpi_status, weeks[-1] - timedelta(days=6), weeks[-1],
                                  series, "orders"))
        done = [kr.progress for kr in lines if kr.progress is not None]
        objectives.append(ObjectiveResult(
            f"T{o:03d}", f"Team {o}: grow the business", f"Lead {o}", f"Team {o}", "",
            sum(done) / len(done) if done else None, rng.choice(STATUSES[:5]), tuple(lines), expected,
        ))
    return SyncResult("Benchmark org", AS_OF, period, expected, tuple(kpis), tuple(objectives), ())


def main(argv: list[str]) -> int:
    from pypdf import PdfReader

    from sheetsync.render.pdf_report import render_pdf

    krs = int(next((a for a in argv if a.isdigit()), SIZES["large"].krs))
    started = time.perf_counter()
    content = build_digest(organisation(krs), None, DigestConfig())
    built = time.perf_counter()
    cpu = time.process_time()
    pdf = render_pdf(content)
    rendered = time.perf_counter()
    cpu = time.process_time() - cpu
    out = f"bench/.data/report-{krs}.pdf"
    import io
    from pathlib import Path

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    figures = {"krs": krs, "objectives": len(content.objectives), "kpis": len(content.kpis),
               "content_seconds": round(built - started, 2), "render_seconds": round(rendered - built, 2),
               "render_cpu_seconds": round(cpu, 2),
               "bytes": len(pdf), "pages": pages, "file": out}
    if "--json" in argv:
        print(json.dumps(figures))
    else:
        print(f"{krs} KRs, {len(content.objectives)} objectives, {len(content.kpis)} KPIs: rendered in "
              f"{rendered - built:.1f}s ({cpu:.1f}s CPU; {built - started:.2f}s building the content), "
              f"{len(pdf) / 1e6:.2f} MB, "
              f"{pages} pages -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
