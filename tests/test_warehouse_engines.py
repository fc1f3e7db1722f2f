"""The engines no test can reach here (BigQuery, Snowflake, Trino): the source's timeout reaches
each engine's own limit, at connect and again before every statement with the budget left."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from connectors import warehouse
from sheetsync.core.model import SourceConfig


class FakeBackend:
    """What `connect` and `Connection.run` touch of an Ibis backend, recording the SQL sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[str] = []
        self.client = SimpleNamespace(default_query_job_config=SimpleNamespace(job_timeout_ms=None))

    def table(self, name: str, database: Any = None) -> Any:
        return SimpleNamespace(columns=["day", "amount"])

    def raw_sql(self, sql: str) -> Any:
        self.sent.append(sql)
        return SimpleNamespace(close=lambda: None)

    def disconnect(self) -> None:
        pass


@pytest.fixture
def opened(monkeypatch):
    """connect() with ibis.connect replaced: the URL and keyword arguments it was given."""
    import ibis

    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_connect(url: str, **kwargs: Any) -> FakeBackend:
        calls.append((url, kwargs))
        scheme = url.split("://", 1)[0]
        return FakeBackend("postgres" if scheme.startswith("postgres") else scheme)

    monkeypatch.setattr(ibis, "connect", fake_connect)

    def open_source(url: str, timeout: float) -> tuple[warehouse.Connection, dict[str, Any]]:
        source = SourceConfig(name="events", type="sql", url=url, table="analytics.events", timeout=timeout)
        conn = warehouse.connect(source)
        ((given, kwargs),) = calls[-1:]
        assert given == url
        return conn, kwargs

    return open_source


def millis(text: str) -> int:
    return int(re.search(r"(\d+)ms", text)[1])  # type: ignore[index]


def test_snowflake_gets_statement_timeout_in_seconds_at_connect_and_per_statement(opened):
    conn, kwargs = opened("snowflake://okr@my_account/METRICS/PUBLIC?warehouse=REPORTING", 120)
    assert kwargs == {"login_timeout": 15, "session_parameters": {"STATEMENT_TIMEOUT_IN_SECONDS": 120}}
    conn.deadline -= 100  # 100 s of the budget spent on earlier statements
    conn.run(SimpleNamespace(execute=lambda: "rows"))
    assert conn.backend.sent == ["ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 20"]


def test_trino_gets_query_max_run_time_as_a_session_property(opened):
    conn, kwargs = opened("trino://okr@trino.example:443/hive/analytics", 90)
    assert list(kwargs) == ["session_properties"]
    assert 89_000 <= millis(kwargs["session_properties"]["query_max_run_time"]) <= 90_000
    conn.deadline -= 60
    conn.run(SimpleNamespace(execute=lambda: "rows"))
    (sent,) = conn.backend.sent
    assert sent.startswith("SET SESSION query_max_run_time = '") and 29_000 <= millis(sent) <= 30_000


def test_a_trino_password_goes_as_basic_authentication_over_https(opened, monkeypatch):
    import sys
    import types

    auth = types.ModuleType("trino.auth")
    auth.BasicAuthentication = lambda user, password: ("basic", user, password)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "trino", types.ModuleType("trino"))
    monkeypatch.setitem(sys.modules, "trino.auth", auth)
    _, kwargs = opened("trino://okr:s%40cret@trino.example/hive/analytics", 90)
    assert kwargs["auth"] == ("basic", "okr", "s@cret") and kwargs["http_scheme"] == "https"


@pytest.fixture
def google_credentials(monkeypatch):
    import google.auth

    found = object()
    monkeypatch.setattr(google.auth, "default", lambda scopes: (found, "my-project"))
    return found


def test_bigquery_gets_a_job_timeout_on_every_query(opened, google_credentials):
    conn, kwargs = opened("bigquery://my-project/my_dataset", 300)
    # The machine's own credentials, never an interactive sign-in; Ibis builds the BigQuery client
    # itself, so the time limit goes on its default job config.
    assert kwargs == {"credentials": google_credentials}
    conn.deadline -= 290
    conn.run(SimpleNamespace(execute=lambda: "rows"))
    assert 9_000 <= conn.backend.client.default_query_job_config.job_timeout_ms <= 10_000
    assert conn.backend.sent == []


def test_postgres_gets_statement_timeout_and_a_connect_timeout_within_the_budget(opened):
    conn, kwargs = opened("postgres://okr@db.example/metrics", 5)
    assert kwargs["connect_timeout"] == 5 and re.fullmatch(r"-c statement_timeout=\d+", kwargs["options"])
    conn.run(SimpleNamespace(execute=lambda: "rows"))
    (sent,) = conn.backend.sent
    assert sent.startswith("SET statement_timeout = ") and 4_000 <= int(sent.rsplit(" ", 1)[1]) <= 5_000


def test_a_spent_budget_runs_nothing_more(opened):
    conn, _ = opened("snowflake://okr@my_account/METRICS/PUBLIC", 30)
    conn.deadline -= 31
    with pytest.raises(warehouse.SourceUnavailable, match=r"its queries ran longer than the source's timeout \(30 s\)"):
        conn.run(SimpleNamespace(execute=lambda: pytest.fail("a statement ran past the source's deadline")))
    assert conn.backend.sent == []


def test_the_embedded_engine_has_a_bounded_memory_and_a_scratch_folder_removed_on_close(tmp_path):
    import duckdb

    duckdb.connect(str(tmp_path / "m.duckdb")).close()
    source = SourceConfig(name="events", type="sql", url="duckdb:///m.duckdb?threads=1", query="SELECT 1 AS x",
                          root=str(tmp_path), memory_limit="300MB")
    conn = warehouse.connect(source)
    setting = conn.backend.con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
                                       "current_setting('threads'), current_setting('enable_progress_bar')").fetchone()
    assert conn.scratch is not None and setting == ("286.1 MiB", str(conn.scratch.path), 1, False)
    # A source made without a project spills under the system's temporary folder, in a locked folder of its own.
    assert conn.scratch.path.parent == Path(tempfile.gettempdir()) and (conn.scratch.path / "owner.lock").is_file()
    conn.close()
    assert not (tmp_path / "m.duckdb.tmp").exists() and not os.path.exists(setting[1])
    default = warehouse.duckdb_settings(SourceConfig(name="e", type="parquet", path="x"), {}, "/tmp/x")
    assert re.fullmatch(r"\d+MiB", default["memory_limit"])  # a quarter of RAM


def test_an_engine_out_of_memory_says_which_setting_to_raise():
    source = SourceConfig(name="events", type="parquet", path="e.parquet", memory_limit="128MB")
    duckdb_said = RuntimeError("Out of Memory Error: could not allocate block of size 256.0 KiB (121.8 MiB/122.0 MiB "
                               "used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)")
    error = warehouse.engine_error(duckdb_said, source, "e.parquet", [])
    assert str(error) == ("source 'events' (e.parquet): Out of Memory Error: could not allocate block of size "
                          "256.0 KiB: raise the source's memory_limit (or the server's memory)")


def test_bigquery_without_credentials_fails_at_once_instead_of_asking(opened, monkeypatch):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def nothing(scopes):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", nothing)
    with pytest.raises(warehouse.SourceAccessDenied) as info:
        opened("bigquery://my-project/my_dataset", 300)
    assert str(info.value) == ("source 'events' (bigquery://my-project/my_dataset): no Google credentials: "
                               "set GOOGLE_APPLICATION_CREDENTIALS to a service account's key file")
