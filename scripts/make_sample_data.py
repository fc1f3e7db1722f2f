"""Regenerate the sample data under data/ that the default config.toml reads.

Deterministic (seeded), so a re-run gives the same files: `python scripts/make_sample_data.py`.
Covers 2026-Q3 (for previous-period baselines) and 2026-Q4 through Monday 2026-11-23.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

DATA = Path(__file__).resolve().parent.parent / "data"
FIRST, LAST = date(2026, 7, 1), date(2026, 11, 23)


def days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def share(day: date) -> float:
    """0 on the first day, 1 on the last: drives the trends."""
    return (day - FIRST).days / (LAST - FIRST).days


def support(rng: random.Random) -> None:
    rows = []
    ticket = 1000
    for day in days():
        for _ in range(rng.randint(6, 12)):
            ticket += 1
            channel = rng.choices(["email", "chat", "phone", "spam"], [5, 4, 2, 1])[0]
            csat = min(100, max(40, round(rng.gauss(79 + 7 * share(day), 6))))
            first_response = max(0.5, round(rng.gauss(5.2 - 1.9 * share(day), 0.6), 1))
            rated = rng.random() > 0.1
            csat_text = f"{csat}%" if rated else rng.choice(["", "N/A"])
            if channel == "spam":
                csat_text, first_response = "", 0.0
            rows.append([f"T-{ticket}", day.isoformat(), channel, csat_text, f"{first_response:.1f}"])
    with open(DATA / "support.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ticket", "Opened", "Channel", "CSAT", "First response (min)"])
        writer.writerows(rows)


def sales(rng: random.Random) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["Order date", "Order ID", "Region", "Amount", "Status"])
    order = 5000
    for day in days():
        weekend = day.weekday() >= 5
        for _ in range(rng.randint(2, 5) if weekend else rng.randint(8, 14)):
            order += 1
            amount = round(rng.uniform(150, 900) * (1 + 0.45 * share(day)), 2)
            status = "refunded" if rng.random() < 0.04 else "paid"
            sheet.append([day, f"SO-{order}", rng.choice(["EU", "NA", "APAC"]), amount, status])
    for row in sheet.iter_rows(min_row=2):
        row[0].number_format = "yyyy-mm-dd"
        row[3].number_format = '"$"#,##0.00'
    sheet.column_dimensions["A"].width = 12
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("Notes")
    notes.append(["Orders export from the shop, one row per order. Amounts in USD."])
    book.save(DATA / "sales.xlsx")


def web(rng: random.Random) -> None:
    with open(DATA / "web.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Date", "Sessions"])
        for day in days():
            # Traffic eases off while orders hold: conversion climbs from about 2.1% to 2.7%.
            base = (530 if day.weekday() < 5 else 170) * (1 - 0.2 * share(day))
            writer.writerow([day.isoformat(), f"{round(base * rng.uniform(0.9, 1.1)):,}"])


def customers(rng: random.Random) -> None:
    active = 4000
    with open(DATA / "customers.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Month", "Active at start", "Churned", "New"])
        for month, rate in ((7, 0.051), (8, 0.049), (9, 0.050), (10, 0.044), (11, None)):
            if rate is None:  # the current month is not over: no churn figure yet
                writer.writerow([f"2026-{month:02d}-01", active, "", ""])
                continue
            churned = round(active * rate)
            new = round(active * rng.uniform(0.06, 0.08))
            writer.writerow([f"2026-{month:02d}-01", active, churned, new])
            active += new - churned


def products() -> None:
    with open(DATA / "products.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Product", "Stage", "Launch date"])
        writer.writerow(["Insights dashboard", "launched", "2026-08-12"])
        writer.writerow(["Mobile app", "launched", "2026-10-20"])
        writer.writerow(["Team workspaces", "beta", ""])
        writer.writerow(["API v2", "building", ""])


def main() -> None:
    rng = random.Random(20261001)
    DATA.mkdir(exist_ok=True)
    support(rng)
    sales(rng)
    web(rng)
    customers(rng)
    products()


if __name__ == "__main__":
    main()
