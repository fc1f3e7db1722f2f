"""The domain model and the arithmetic: periods, numbers, dates, expressions, KPIs, key results,
objectives, what the tracker and the digest say, and how they show it (`theme`, `display`).

Pure functions over DataFrames and dataclasses. Nothing here opens a file, a socket or a
database, or imports a library that does (gspread, google-auth, openpyxl, python-calamine,
sqlite3, smtplib, jinja2, Pillow, DuckDB): connectors bring the data in, the runtime and the
renderers take the results out. `tests/test_layers.py` holds the line.
"""
