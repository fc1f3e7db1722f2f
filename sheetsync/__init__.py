"""sheetsync: OKR/KPI trackers and digests from CSV, xlsx, Google Sheets and warehouses."""

from sheetsync import dataclass_cache

dataclass_cache.install()  # before any of sheetsync's dataclasses is made
