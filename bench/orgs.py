"""A synthetic organisation at three sizes: its data files, its Google Sheets and its config.

Everything is derived from one seed, so two runs (or two machines) benchmark the same
bytes. Generating the large size takes minutes (10M CSV rows, half a million .xlsx rows
written by openpyxl), so the files are cached under ``bench/.data/<size>/`` and reused
while ``GENERATOR_VERSION`` and the seed are unchanged.

Each team owns a few sources (mixed CSV, .xlsx and Google Sheets tabs) of order-like rows
and ten key results over ten kinds of KPI (sums, counts, distinct counts, means, medians,
a formula), with targets set from the data so statuses come out mixed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GENERATOR_VERSION = 3
SEED = 20261124
PERIOD = "2026-Q4"
PERIOD_START = date(2026, 10, 1)
AS_OF = date(2026, 11, 24)  # a Tuesday: 55 of Q4's 92 days
DATA_START = date(2026, 7, 1)  # Q3 too, for previous_period baselines
DATA_DAYS = (AS_OF - DATA_START).days + 1
COLUMNS = ("Date", "Order ID", "Customer", "Channel", "Status", "Amount", "Units", "Score")
CHANNELS = np.array(["web", "email", "partner", "store", "spam"])
CHANNEL_P = (0.45, 0.2, 0.15, 0.15, 0.05)
STATUSES = np.array(["paid", "refunded", "pending"])
STATUS_P = (0.8, 0.08, 0.12)
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent / ".data"


@dataclass(frozen=True)
class Size:
    """How big an organisation is: teams, key results, and rows per kind of source."""

    name: str
    teams: int
    krs: int
    csv_sources: int
    csv_rows: int
    xlsx_sources: int
    xlsx_rows: int
    spreadsheets: int
    tabs_per_spreadsheet: int
    gsheet_rows: int

    @property
    def gsheet_sources(self) -> int:
        return self.spreadsheets * self.tabs_per_spreadsheet

    @property
    def sources(self) -> int:
        return self.csv_sources + self.xlsx_sources + self.gsheet_sources

    @property
    def rows(self) -> int:
        return self.csv_rows + self.xlsx_rows + self.gsheet_rows


SIZES = {
    "small": Size("small", teams=1, krs=10, csv_sources=2, csv_rows=7_000, xlsx_sources=1, xlsx_rows=1_500,
                  spreadsheets=1, tabs_per_spreadsheet=2, gsheet_rows=1_500),
    "medium": Size("medium", teams=50, krs=500, csv_sources=70, csv_rows=860_000, xlsx_sources=10,
                   xlsx_rows=100_000, spreadsheets=10, tabs_per_spreadsheet=2, gsheet_rows=40_000),
    "large": Size("large", teams=500, krs=5_000, csv_sources=500, csv_rows=9_500_000, xlsx_sources=100,
                  xlsx_rows=500_000, spreadsheets=200, tabs_per_spreadsheet=2, gsheet_rows=400_000),
}

# The ten kinds of KPI each team tracks (one key result each). `value` says how the
# generator estimates the KPI from the data to set a plausible target.
ARCHETYPES: tuple[dict[str, Any], ...] = (
    {"name": "revenue", "title": "Revenue", "agg": "sum", "column": "Amount", "filter": "Status == 'paid'",
     "unit": "$", "kr": "baseline"},
    {"name": "orders", "title": "Paid orders", "agg": "count", "column": "Order ID", "filter": "Status == 'paid'",
     "kr": "to_date"},
    {"name": "aov", "title": "Average order value", "formula": "{t}_revenue / {t}_orders", "window": "latest",
     "unit": "$", "kr": "level"},
    {"name": "csat", "title": "Customer satisfaction", "agg": "mean", "column": "Score", "window": "latest",
     "unit": "%", "target": 0.9, "warn": 0.85, "kr": "csat"},
    {"name": "units", "title": "Units shipped", "agg": "sum", "column": "Units", "kr": "to_date"},
    {"name": "customers", "title": "Customers served", "agg": "count_distinct", "column": "Customer",
     "grain": "month", "kr": "to_date"},
    {"name": "median_order", "title": "Median order (last week)", "agg": "median", "column": "Amount",
     "window": "latest", "unit": "$", "kr": "level"},
    {"name": "web_orders", "title": "Paid web orders", "agg": "count", "column": "Order ID",
     "filter": "Channel == 'web' and Status == 'paid'", "kr": "to_date"},
    {"name": "refunds", "title": "Refunded amount", "agg": "sum", "column": "Amount",
     "filter": "Status == 'refunded'", "unit": "$", "direction": "decrease", "kr": "decrease"},
    {"name": "last_score", "title": "Latest check-in score", "agg": "last", "column": "Score", "window": "latest",
     "unit": "%", "kr": "csat"},
)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    type: str  # csv | xlsx | gsheet
    team: int
    rows: int
    path: str | None = None  # csv/xlsx, relative to the data folder
    sheet: str | None = None  # xlsx sheet / gsheet tab
    spreadsheet: str | None = None  # gsheet key
    money_text: bool = False  # Amount written as "$1,234.50" text (a messy export)
    filter: str | None = None


def spreadsheet_key(index: int) -> str:
    """A 44-character key shaped like Google's, stable for a given index."""
    digest = hashlib.sha256(f"sheetsync-bench-{SEED}-{index}".encode()).digest()
    return "1" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:43]


def plan_sources(size: Size) -> list[SourceSpec]:
    """Which sources exist, of which kind, owned by which team, with how many rows."""
    rng = np.random.default_rng(SEED)
    kinds = ["csv"] * size.csv_sources + ["xlsx"] * size.xlsx_sources + ["gsheet"] * size.gsheet_sources
    # Interleave so every team gets a mix; gsheet tabs stay grouped by spreadsheet.
    order = rng.permutation(len(kinds))
    kinds = [kinds[i] for i in order]
    weights = {k: _split(total, count, rng) for k, total, count in (
        ("csv", size.csv_rows, size.csv_sources),
        ("xlsx", size.xlsx_rows, size.xlsx_sources),
        ("gsheet", size.gsheet_rows, size.gsheet_sources),
    )}
    used = {"csv": 0, "xlsx": 0, "gsheet": 0}
    specs = []
    for index, kind in enumerate(kinds):
        k = used[kind]
        used[kind] += 1
        rows = int(weights[kind][k])
        team = index % size.teams
        name = f"s{index:04d}_{kind}"
        money_text = kind == "csv" and k % 10 == 3
        spam_filter = "Channel != 'spam'" if index % 3 == 0 else None
        if kind == "csv":
            specs.append(SourceSpec(name, kind, team, rows, path=f"csv/{name}.csv", money_text=money_text,
                                    filter=spam_filter))
        elif kind == "xlsx":
            specs.append(SourceSpec(name, kind, team, rows, path=f"xlsx/{name}.xlsx", sheet="Orders",
                                    filter=spam_filter))
        else:
            ss, tab = divmod(k, size.tabs_per_spreadsheet)
            specs.append(SourceSpec(name, kind, team, rows, sheet=f"Orders {tab + 1}",
                                    spreadsheet=spreadsheet_key(ss), filter=spam_filter))
    return specs


def _split(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """`total` rows over `parts` sources, uneven (0.5x to 1.5x) but summing exactly."""
    if parts == 0:
        return np.zeros(0, dtype=np.int64)
    raw = rng.uniform(0.5, 1.5, parts)
    counts = np.floor(raw / raw.sum() * total).astype(np.int64)
    counts[: total - int(counts.sum())] += 1
    return counts


def make_rows(spec: SourceSpec, index: int) -> pd.DataFrame:
    """One source's rows, typed: dates as datetime64, numbers as numbers."""
    rng = np.random.default_rng([SEED, index])
    n = spec.rows
    day = np.sort(rng.integers(0, DATA_DAYS, n))
    customers = max(50, n // 5)
    score = np.round(rng.uniform(0.6, 1.0, n), 2)
    score[rng.random(n) < 0.03] = np.nan  # a few blank check-ins
    return pd.DataFrame({
        "Date": np.datetime64(DATA_START, "D") + day,
        "Order ID": np.arange(n, dtype=np.int64) + index * 10_000_000,
        "Customer": np.char.add("C", np.char.zfill(rng.integers(0, customers, n).astype(str), 6)),
        "Channel": CHANNELS[rng.choice(len(CHANNELS), n, p=CHANNEL_P)],
        "Status": STATUSES[rng.choice(len(STATUSES), n, p=STATUS_P)],
        "Amount": np.round(rng.lognormal(4.0, 0.7, n), 2),
        "Units": rng.poisson(2.0, n) + 1,
        "Score": score,
    })


def write_csv(frame: pd.DataFrame, path: Path, *, money_text: bool) -> None:
    out = frame.copy()
    out["Date"] = out["Date"].dt.strftime("%Y-%m-%d")
    if money_text:  # "$1,234.50", as some finance exports write it
        out["Amount"] = [f"${v:,.2f}" for v in out["Amount"].to_numpy()]
    out.to_csv(path, index=False)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    """openpyxl write_only mode: streams rows, the only way it writes 100k rows in seconds."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(COLUMNS))
    dates = frame["Date"].dt.date.tolist()
    columns = [frame[c].tolist() for c in COLUMNS[1:]]
    for i, day in enumerate(dates):
        cell = WriteOnlyCell(ws, value=day)
        cell.number_format = "yyyy-mm-dd"
        score = columns[-1][i]
        ws.append([cell, *(col[i] for col in columns[:-1]), None if score != score else score])
    wb.save(path)


def sheet_rows(frame: pd.DataFrame) -> list[list[object]]:
    """A Google Sheets tab as FakeGoogle.add_spreadsheet takes it: header, then typed cells."""
    out: list[list[object]] = [list(COLUMNS)]
    dates = frame["Date"].dt.date.tolist()
    columns = [frame[c].tolist() for c in COLUMNS[1:]]
    for i, day in enumerate(dates):
        score = columns[-1][i]
        out.append([day, *(col[i] for col in columns[:-1]), "" if score != score else score])
    return out


# --- KPIs, key results and objectives -------------------------------------------------------


def _estimate(frame: pd.DataFrame, arch: dict[str, Any], start: date, end: date) -> float:
    """Roughly the KPI over start..end, to pick targets that leave statuses mixed."""
    days = frame["Date"].dt.date
    rows = frame[(days >= start) & (days <= end)]
    if arch.get("filter"):
        rows = rows.query(arch["filter"])
    agg, column = arch.get("agg"), arch.get("column")
    if agg == "count":
        return float(len(rows))
    if agg == "count_distinct":
        return float(rows[column].nunique())
    if agg in ("sum", "mean", "median"):
        return float(getattr(rows[column], agg)()) if len(rows) else 0.0
    return float(rows[column].dropna().iloc[-1]) if len(rows[column].dropna()) else 0.8


def estimates(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each archetype's (Q4-to-date, whole Q3) estimate over one source's rows."""
    q3 = (date(2026, 7, 1), date(2026, 9, 30))
    return {
        arch["name"]: (_estimate(frame, arch, PERIOD_START, AS_OF), _estimate(frame, arch, *q3))
        for arch in ARCHETYPES
        if "formula" not in arch
    }


Guesses = dict[str, dict[str, tuple[float, float]]]


def plan_org(size: Size, sources: list[SourceSpec], guesses: Guesses) -> dict[str, Any]:
    """KPIs, objectives and key results for every team, targets set from the data."""
    rng = np.random.default_rng([SEED, 1])
    by_team: dict[int, list[SourceSpec]] = {}
    for spec in sources:
        by_team.setdefault(spec.team, []).append(spec)
    per_team = size.krs // size.teams
    expected = (AS_OF - PERIOD_START).days + 1
    kpis: list[dict[str, Any]] = []
    objectives: list[dict[str, Any]] = []
    for team in range(size.teams):
        t = f"t{team:03d}"
        owned = by_team[team]
        team_name = f"Team {team + 1:03d}"
        krs: list[dict[str, Any]] = []
        values: dict[str, float] = {}
        for i in range(per_team):
            arch = ARCHETYPES[i % len(ARCHETYPES)]
            kpi_id = f"{t}_{arch['name']}" + (f"_{i // len(ARCHETYPES)}" if i >= len(ARCHETYPES) else "")
            kpi: dict[str, Any] = {"id": kpi_id, "title": f"{arch['title']} ({team_name})"}
            source = owned[i % len(owned)]
            if "formula" in arch:
                kpi["formula"] = arch["formula"].format(t=t)
                current = values.get(f"{t}_revenue", 0.0) / max(values.get(f"{t}_orders", 1.0), 1.0)
            else:
                kpi.update(source=source.name, column=arch["column"], agg=arch["agg"], date_column="Date")
                if arch.get("filter"):
                    kpi["filter"] = arch["filter"]
                current = guesses[source.name][arch["name"]][0]
            for key in ("window", "grain", "unit", "direction", "target", "warn"):
                if key in arch:
                    kpi[key] = arch[key]
            kpis.append(kpi)
            values[kpi_id] = current
            kr: dict[str, Any] = {"id": f"{t}-KR{i + 1:02d}", "kpi": kpi_id, "weight": int(rng.integers(1, 3))}
            stretch = float(rng.uniform(0.8, 1.6))
            kind = arch["kr"]
            if kind == "baseline":
                kr.update(baseline="previous_period", start=0, change=f"+{int(rng.integers(5, 40))}%",
                          title=f"Grow {arch['title'].lower()} over Q3")
            elif kind == "to_date":
                full = current / (expected / 92) if current else 100.0
                kr.update(start=0, target=round(full * stretch), title=f"Reach {arch['title'].lower()}")
            elif kind == "level":
                kr.update(start=round(current * 0.8, 2), target=round(current * stretch * 1.05, 2),
                          title=f"Raise {arch['title'].lower()}")
            elif kind == "csat":
                kr.update(start=0.75, target=round(float(rng.uniform(0.8, 0.95)), 2),
                          title=f"Lift {arch['title'].lower()}")
            else:  # decrease
                q3 = guesses[source.name][arch["name"]][1] if "formula" not in arch else 0.0
                kr.update(start=round(q3, 2), target=round(q3 * 0.6, 2), title=f"Cut {arch['title'].lower()}")
            krs.append(kr)
        split = [krs[: (len(krs) + 2) // 3], krs[(len(krs) + 2) // 3 : 2 * (len(krs) + 1) // 3],
                 krs[2 * (len(krs) + 1) // 3 :]]
        for k, chunk in enumerate(split, start=1):
            objectives.append({
                "id": f"{t.upper()}-O{k}",
                "title": ["Grow revenue", "Delight customers", "Run a tighter operation"][k - 1] + f" ({team_name})",
                "owner": f"Lead, {team_name}",
                "team": team_name,
                "parent": f"{t.upper()}-O1" if k == 3 else "",
                "key_results": chunk,
            })
    return {"kpis": kpis, "objectives": objectives}


# --- the cached data folder -------------------------------------------------------------------


@dataclass
class Org:
    """A generated organisation: where its data is and what its config says."""

    size: Size
    root: Path
    sources: list[SourceSpec]
    kpis: list[dict[str, Any]]
    objectives: list[dict[str, Any]]

    @property
    def spreadsheet_keys(self) -> list[str]:
        return list(dict.fromkeys(s.spreadsheet for s in self.sources if s.spreadsheet))

    def file_rows(self) -> int:
        return sum(s.rows for s in self.sources if s.type != "gsheet")

    def sheets(self) -> Iterator[tuple[str, dict[str, list[list[object]]]]]:
        """Each spreadsheet's key and tabs, as stored by `generate`."""
        for key in self.spreadsheet_keys:
            with open(self.root / "gsheet" / f"{key}.pkl", "rb") as handle:
                yield key, pickle.load(handle)


def data_dir(size: str, root: Path | None = None) -> Path:
    return (root or Path(os.environ.get("SHEETSYNC_BENCH_DATA", DEFAULT_DATA_ROOT))) / size


def load_or_generate(size_name: str, root: Path | None = None, *, log: Any = print) -> Org:
    """The organisation for `size_name`, generated on first use and cached afterwards."""
    size = SIZES[size_name]
    folder = data_dir(size_name, root)
    manifest = folder / "manifest.json"
    stamp = {"version": GENERATOR_VERSION, "seed": SEED, "size": asdict(size)}
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("stamp") == stamp:
            return Org(size, folder, [SourceSpec(**s) for s in saved["sources"]], saved["kpis"], saved["objectives"])
    return generate(size, folder, stamp, log=log)


def generate(size: Size, folder: Path, stamp: dict[str, Any], *, log: Any = print) -> Org:
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    for sub in ("csv", "xlsx", "gsheet"):
        (folder / sub).mkdir(parents=True)
    sources = plan_sources(size)
    guesses: Guesses = {}
    tabs: dict[str, dict[str, list[list[object]]]] = {}
    for index, spec in enumerate(sources):
        frame = make_rows(spec, index)
        if spec.type == "csv":
            assert spec.path is not None
            write_csv(frame, folder / spec.path, money_text=spec.money_text)
        elif spec.type == "xlsx":
            assert spec.path is not None and spec.sheet is not None
            write_xlsx(frame, folder / spec.path, spec.sheet)
        else:
            assert spec.spreadsheet is not None and spec.sheet is not None
            tabs.setdefault(spec.spreadsheet, {})[spec.sheet] = sheet_rows(frame)
        guesses[spec.name] = estimates(frame)  # all target-setting needs: the frame itself is dropped
        if (index + 1) % 100 == 0:
            log(f"  generated {index + 1}/{len(sources)} sources ({time.perf_counter() - started:.0f} s)")
    for key, sheets in tabs.items():
        with open(folder / "gsheet" / f"{key}.pkl", "wb") as handle:
            pickle.dump(sheets, handle, protocol=pickle.HIGHEST_PROTOCOL)
    org = plan_org(size, sources, guesses)
    manifest = {"stamp": stamp, "sources": [asdict(s) for s in sources], **org}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    log(f"  generated {size.name} in {time.perf_counter() - started:.0f} s: {folder}")
    return Org(size, folder, sources, org["kpis"], org["objectives"])


# --- config.toml --------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON strings are valid TOML basic strings


def write_config(
    org: Org,
    path: Path,
    *,
    api_url: str | None,
    credentials: Path | list[Path] | None,
    retry_seconds: float = 120.0,
    requests_per_minute: int = 60,
    parallel: int | None = None,
) -> Path:
    """The organisation's config.toml, with absolute data paths and this run's Google endpoint."""
    lines = [
        "[project]",
        f"name = {_toml('Bench ' + org.size.name)}",
        'timezone = "UTC"',
        f"period = {_toml(PERIOD)}",
        'state_dir = "state"',
        "",
        "[tracker]",
        'type = "xlsx"',
        'path = "output/okr_tracker.xlsx"',
        "",
        "[digest]",
        'to = ["leadership@bench.example"]',
        'from = "OKR bot <okrs@bench.example>"',
        'outbox = "outbox"',
        "",
    ]
    if api_url is not None:
        files = [str(c) for c in credentials] if isinstance(credentials, list) else str(credentials)
        lines += ["[google]", f"api_url = {_toml(api_url)}", f"credentials = {_toml(files)}",
                  f"retry_seconds = {retry_seconds!r}", f"requests_per_minute = {requests_per_minute}"]
        lines += [f"parallel = {parallel}", ""] if parallel else [""]
    for s in org.sources:
        lines.append(f"[sources.{s.name}]")
        lines.append(f"type = {_toml(s.type)}")
        if s.path:
            lines.append(f"path = {_toml(str(org.root / s.path))}")
        if s.type == "xlsx":
            lines.append(f"sheet = {_toml(s.sheet)}")
        if s.type == "gsheet":
            lines.append(f"spreadsheet = {_toml(s.spreadsheet)}")
            lines.append(f"worksheet = {_toml(s.sheet)}")
        if s.filter:
            lines.append(f"filter = {_toml(s.filter)}")
        lines.append("")
    for kpi in org.kpis:
        lines.append(f"[kpis.{kpi['id']}]")
        lines += [f"{k} = {_toml(v)}" for k, v in kpi.items() if k != "id"]
        lines.append("")
    for obj in org.objectives:
        lines.append("[[objectives]]")
        lines += [f"{k} = {_toml(v)}" for k, v in obj.items() if k != "key_results" and v != ""]
        for kr in obj["key_results"]:
            lines.append("[[objectives.key_results]]")
            lines += [f"{k} = {_toml(v)}" for k, v in kr.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
