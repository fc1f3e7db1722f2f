"""The example's sample data, for any quarter: what `sheetsync init` writes.

Seeded, so the same quarter and end date always give the same files. The data covers the
previous quarter (for `previous_period` baselines) and the current one up to `through`, so
a new project's first run reads as a quarter in progress on whatever day it is made. The
repository's own `data/` is this generator pinned to 2026-Q4 through Monday 23 November
(`python scripts/make_sample_data.py`), which the tests rely on.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from sheetsync.core.periods import Period, parse_period

SEED = 20261001
CHURN_RATES = (0.051, 0.049, 0.050, 0.044, 0.046, 0.043)  # one per completed month, in turn


def quarter_of(day: date) -> Period:
    """The calendar quarter holding `day`."""
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


class _Span:
    """The days the sample covers: the previous quarter's first day through `through`."""

    def __init__(self, period: Period, through: date) -> None:
        self.period = period
        self.first = period.previous().start
        self.last = max(through, self.first)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def share(self, day: date) -> float:
        """0 on the first day, 1 on the last: drives the trends."""
        return (day - self.first).days / max((self.last - self.first).days, 1)


def write_sample_data(folder: Path, period: Period, through: date, seed: int = SEED) -> None:
    """support.csv, sales.xlsx, web.csv, customers.csv and products.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    span = _Span(period, through)
    _support(folder, rng, span)
    _sales(folder, rng, span)
    _web(folder, rng, span)
    _customers(folder, rng, span)
    _products(folder, span)


def _support(folder: Path, rng: random.Random, span: _Span) -> None:
    rows = []
    ticket = 1000
    for day in span.days():
        for _ in range(rng.randint(6, 12)):
            ticket += 1
            channel = rng.choices(["email", "chat", "phone", "spam"], [5, 4, 2, 1])[0]
            csat = min(100, max(40, round(rng.gauss(79 + 7 * span.share(day), 6))))
            first_response = max(0.5, round(rng.gauss(5.2 - 1.9 * span.share(day), 0.6), 1))
            rated = rng.random() > 0.1
            csat_text = f"{csat}%" if rated else rng.choice(["", "N/A"])
            if channel == "spam":
                csat_text, first_response = "", 0.0
            rows.append([f"T-{ticket}", day.isoformat(), channel, csat_text, f"{first_response:.1f}"])
    with open(folder / "support.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ticket", "Opened", "Channel", "CSAT", "First response (min)"])
        writer.writerows(rows)


def _sales(folder: Path, rng: random.Random, span: _Span) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["Order date", "Order ID", "Region", "Amount", "Status"])
    order = 5000
    for day in span.days():
        weekend = day.weekday() >= 5
        for _ in range(rng.randint(2, 5) if weekend else rng.randint(8, 14)):
            order += 1
            amount = round(rng.uniform(150, 900) * (1 + 0.45 * span.share(day)), 2)
            status = "refunded" if rng.random() < 0.04 else "paid"
            sheet.append([day, f"SO-{order}", rng.choice(["EU", "NA", "APAC"]), amount, status])
    for row in sheet.iter_rows(min_row=2):
        row[0].number_format = "yyyy-mm-dd"
        row[3].number_format = '"$"#,##0.00'
    sheet.column_dimensions["A"].width = 12
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("Notes")
    notes.append(["Orders export from the shop, one row per order. Amounts in USD."])
    book.save(folder / "sales.xlsx")


def _web(folder: Path, rng: random.Random, span: _Span) -> None:
    with open(folder / "web.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Date", "Sessions"])
        for day in span.days():
            # Traffic eases off while orders hold: conversion climbs from about 2.1% to 2.7%.
            base = (530 if day.weekday() < 5 else 170) * (1 - 0.2 * span.share(day))
            writer.writerow([day.isoformat(), f"{round(base * rng.uniform(0.9, 1.1)):,}"])


def _customers(folder: Path, rng: random.Random, span: _Span) -> None:
    active = 4000
    months = []
    cursor = span.first.replace(day=1)
    while cursor <= span.last:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Month", "Active at start", "Churned", "New"])
        for index, month in enumerate(months):
            month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            if month_end > span.last + timedelta(days=1):  # the month is not over: no churn figure yet
                writer.writerow([month.isoformat(), active, "", ""])
                continue
            churned = round(active * CHURN_RATES[index % len(CHURN_RATES)])
            new = round(active * rng.uniform(0.06, 0.08))
            writer.writerow([month.isoformat(), active, churned, new])
            active += new - churned


def _products(folder: Path, span: _Span) -> None:
    earlier = span.first + timedelta(days=42)  # launched last quarter
    recent = span.period.start + timedelta(days=19)  # launched this quarter, once that day has come
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Product", "Stage", "Launch date"])
        writer.writerow(["Insights dashboard", "launched", earlier.isoformat()])
        if recent <= span.last:
            writer.writerow(["Mobile app", "launched", recent.isoformat()])
        else:
            writer.writerow(["Mobile app", "beta", ""])
        writer.writerow(["Team workspaces", "beta", ""])
        writer.writerow(["API v2", "building", ""])


def example_config_for(text: str, period: Period) -> str:
    """The example config.toml's text moved to `period` (a quarter): its period, and the words
    that name it and the quarter before."""
    quarter = period.name.split("-Q")[1]
    previous = period.previous().name.split("-Q")[1]
    text = re.sub(r'^period = "[^"]*"', f'period = "{period.name}"', text, count=1, flags=re.M)
    text = re.sub(r"Acme's Q\d \d{4} OKRs", f"Acme's Q{quarter} {period.start.year} OKRs", text, count=1)
    return re.sub(r"over Q\d\b", f"over Q{previous}", text)


__all__ = ["example_config_for", "quarter_of", "write_sample_data"]
