"""make_gspread_client: credentials loading, endpoint override and the bounded retry policy.

Every test drives unmodified gspread + google-auth over HTTP against the fake backend. Waits go
through an injected ``sleep`` that records them (and moves the fake's quota clock), so retry
storms cost no real time.
"""

from __future__ import annotations

import json
from pathlib import Path

import gspread
import pytest

from connectors.google_client import (
    GoogleAPIError,
    GoogleConfigError,
    GoogleConnectionError,
    RetryingHTTPClient,
    RetryPolicy,
    load_credentials,
    make_gspread_client,
    service_account_email,
)
from tests.fake_google import FakeGoogle, fixtures

# Re-exported fixtures (an assignment, so test parameters may shadow it without lint noise).
fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file

UNFORMATTED = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}


FakeTime = fixtures.FakeTime


def _client(fake: FakeGoogle, creds: Path, **policy: object) -> tuple[gspread.Client, FakeTime]:
    timer = FakeTime(fake)
    defaults: dict[str, object] = {"base_delay": 1.0, "max_delay": 30.0, "jitter": False, "total_timeout": 120.0}
    retry = RetryPolicy(**{**defaults, **policy}, sleep=timer.sleep, clock=timer.clock)  # type: ignore[arg-type]
    return make_gspread_client(credentials_path=str(creds), api_url=fake.url, retry=retry), timer


@pytest.fixture
def sheet_id(fake_google: FakeGoogle) -> str:
    return fake_google.add_spreadsheet("Metrics", {"Sheet1": [["kr", "value"], ["signups", 120]]})


# --- credentials ------------------------------------------------------------------------------


def test_service_account_runs_the_real_jwt_flow(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, _ = _client(fake_google, service_account_file)
    sh = gc.open_by_key(sheet_id)
    got = sh.values_batch_get(["Sheet1!A1:B2"], params=dict(UNFORMATTED))
    assert got["valueRanges"][0]["values"] == [["kr", "value"], ["signups", 120]]
    sh.values_get("Sheet1!A1")
    assert fake_google.call_counts()["oauth.token"] == 1  # the token is fetched once and reused
    (token_call,) = fake_google.calls_of("oauth.token")
    assert token_call.method == "POST"


def test_authorized_user_credentials(fake_google: FakeGoogle, tmp_path: Path, sheet_id: str) -> None:
    creds = fixtures.write_authorized_user(tmp_path / "user.json", fake_google, email="me@example.com")
    gc, _ = _client(fake_google, creds)
    assert gc.open_by_key(sheet_id).title == "Metrics"
    assert service_account_email(str(creds)) is None


def test_env_var_fallback(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    gc = make_gspread_client(credentials_path=None, api_url=fake_google.url)
    assert gc.open_by_key(sheet_id).title == "Metrics"
    assert service_account_email(None) == fixtures.SERVICE_ACCOUNT_EMAIL


def test_no_credentials_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(GoogleConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        make_gspread_client(credentials_path=None)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON (line 1"),
        ("[1, 2]", "does not contain a JSON object"),
        (json.dumps({"type": "external_account"}), "has type 'external_account'"),
        (json.dumps({"client_email": "x@y"}), "has type missing"),
        (json.dumps({"type": "service_account", "client_email": "x@y"}), "missing: private_key, token_uri"),
        (
            json.dumps(
                {
                    "type": "service_account",
                    "client_email": "x@y",
                    "token_uri": "http://127.0.0.1:9/token",
                    "private_key": "-----BEGIN PRIVATE KEY-----\nSECRETSECRETSECRET\n-----END PRIVATE KEY-----\n",
                }
            ),
            "could not be loaded",
        ),
    ],
)
def test_config_errors_name_the_file_not_its_content(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "creds.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(GoogleConfigError) as err:
        load_credentials(str(path))
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "SECRET" not in message and "PRIVATE KEY" not in message
    assert err.value.__cause__ is None and isinstance(err.value, ValueError)


def test_service_account_email(service_account_file: Path, tmp_path: Path) -> None:
    assert service_account_email(str(service_account_file)) == fixtures.SERVICE_ACCOUNT_EMAIL
    assert service_account_email(str(tmp_path / "missing.json")) is None


def test_rejected_key_is_a_clear_401_without_secrets(fake_google: FakeGoogle, tmp_path: Path, sheet_id: str) -> None:
    creds = fixtures.write_service_account(
        tmp_path / "sa.json", fake_google, email="stranger@x.iam.gserviceaccount.com"
    )
    fake_google._service_accounts.clear()  # the key is no longer trusted
    gc, timer = _client(fake_google, creds)
    with pytest.raises(GoogleAPIError) as err:
        gc.open_by_key(sheet_id)
    message = str(err.value)
    assert err.value.code == 401 and "invalid_grant" in message
    private_key = json.loads(creds.read_text())["private_key"]
    assert private_key.splitlines()[1] not in message
    assert timer.waits == []


def test_api_url_rewrites_every_google_prefix(service_account_file: Path) -> None:
    client = RetryingHTTPClient(load_credentials(str(service_account_file)), api_url="http://127.0.0.1:1/")
    assert client.rewrite("https://sheets.googleapis.com/v4/spreadsheets/x") == "http://127.0.0.1:1/v4/spreadsheets/x"
    assert client.rewrite("https://www.googleapis.com/drive/v3/files") == "http://127.0.0.1:1/drive/v3/files"
    assert client.rewrite("https://www.googleapis.com/upload/drive/v2/files/x") == (
        "http://127.0.0.1:1/upload/drive/v2/files/x"
    )
    assert client.rewrite("https://example.com/other") == "https://example.com/other"
    untouched = RetryingHTTPClient(load_credentials(str(service_account_file)))
    assert untouched.rewrite("https://sheets.googleapis.com/v4/x") == "https://sheets.googleapis.com/v4/x"


# --- retries ----------------------------------------------------------------------------------


def _read(gc: gspread.Client, sid: str) -> dict[str, object]:
    return gc.open_by_key(sid).values_batch_get(["Sheet1!A1:B2"], params=dict(UNFORMATTED))


def test_429_storm_recovers_and_honours_retry_after(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, timer = _client(fake_google, service_account_file)
    sh = gc.open_by_key(sheet_id)
    fake_google.fail_next(3, status=429, retry_after=7, kind="values.batchGet")
    got = sh.values_batch_get(["Sheet1!A1:B2"], params=dict(UNFORMATTED))
    assert got["valueRanges"][0]["values"][1] == ["signups", 120]
    assert timer.waits == [7.0, 7.0, 7.0]
    assert fake_google.call_counts()["values.batchGet"] == 4


def test_backoff_is_exponential_with_full_jitter(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, timer = _client(fake_google, service_account_file, jitter=True, random=lambda: 0.5, max_delay=3.0)
    fake_google.fail_next(4, status=500, kind="spreadsheets.get")
    assert gc.open_by_key(sheet_id).title == "Metrics"
    assert timer.waits == [0.5, 1.0, 1.5, 1.5]  # 0.5 * min(3, 1 * 2**n)


def test_storm_that_outlasts_the_budget_fails_clearly(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, timer = _client(fake_google, service_account_file, base_delay=4.0, total_timeout=20.0, max_attempts=10)
    fake_google.fail_next(100, status=429)
    with pytest.raises(GoogleAPIError) as err:
        _read(gc, sheet_id)
    assert err.value.code == 429 and err.value.status == "RESOURCE_EXHAUSTED"
    assert timer.waits == [4.0, 8.0]  # 4 + 8 = 12 s; the next 16 s wait would pass the 20 s budget
    message = str(err.value)
    assert "gave up after 3 attempts" in message and "20 s retry budget" in message
    assert "quota" in message.lower()
    assert err.value.attempts == 3


def test_max_attempts_bounds_retries(fake_google: FakeGoogle, service_account_file: Path, sheet_id: str) -> None:
    gc, timer = _client(fake_google, service_account_file, max_attempts=3)
    fake_google.fail_next(5, status=502)
    with pytest.raises(GoogleAPIError, match="gave up after 3 attempts"):
        _read(gc, sheet_id)
    assert len(timer.waits) == 2


def test_html_503_is_retried(fake_google: FakeGoogle, service_account_file: Path, sheet_id: str) -> None:
    gc, timer = _client(fake_google, service_account_file)
    fake_google.fail_next(2, status=503, body="html")
    assert _read(gc, sheet_id)["valueRanges"]
    assert timer.waits == [1.0, 2.0]


def test_html_error_that_persists_keeps_its_status(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, _ = _client(fake_google, service_account_file, max_attempts=2)
    fake_google.fail_next(5, status=503, body="html")
    with pytest.raises(GoogleAPIError) as err:
        _read(gc, sheet_id)
    assert err.value.code == 503  # gspread's own APIError would say -1 for an HTML body
    assert "Error 503 (Service Unavailable)" in str(err.value)


def test_client_errors_are_not_retried(fake_google: FakeGoogle, service_account_file: Path, sheet_id: str) -> None:
    gc, timer = _client(fake_google, service_account_file)
    sh = gc.open_by_key(sheet_id)
    with pytest.raises(GoogleAPIError) as err:
        sh.values_get("Missing!A1")
    assert err.value.code == 400 and timer.waits == []
    assert fake_google.call_counts()["values.get"] == 1

    fake_google.deny(sheet_id)
    with pytest.raises(GoogleAPIError) as denied:
        sh.values_get("Sheet1!A1")
    assert f"share the spreadsheet with {fixtures.SERVICE_ACCOUNT_EMAIL}" in str(denied.value)
    assert "ya29" not in str(denied.value)  # no bearer token in messages


def test_dropped_connections_are_retried(fake_google: FakeGoogle, service_account_file: Path, sheet_id: str) -> None:
    gc, timer = _client(fake_google, service_account_file)
    sh = gc.open_by_key(sheet_id)
    fake_google.drop_next(2)
    assert sh.values_get("Sheet1!A1")["values"] == [["kr"]]
    assert timer.waits == [1.0, 2.0]

    fake_google.drop_next(10)
    with pytest.raises(GoogleConnectionError) as err:
        gc.open_by_key(sheet_id)  # gspread inspects err.response.status_code here; it must not crash
    assert err.value.status_code is None and "connection failed" in str(err.value)


def test_drive_rate_limit_403_is_retried(fake_google: FakeGoogle, service_account_file: Path) -> None:
    gc, timer = _client(fake_google, service_account_file)
    fake_google.fail_next(1, status=403, kind="drive.files.create", drive_reason="userRateLimitExceeded")
    assert gc.create("New").title == "New"
    assert timer.waits == [1.0]


def test_per_minute_quota_recovers_in_the_next_minute(
    fake_google: FakeGoogle, service_account_file: Path, sheet_id: str
) -> None:
    gc, timer = _client(fake_google, service_account_file, base_delay=20.0, max_delay=60.0)
    sh = gc.open_by_key(sheet_id)  # one spreadsheets.get before the quota starts counting
    fake_google.advance_clock(60 - fake_google.now() % 60)  # start at a minute boundary
    fake_google.set_quota(3)
    for _ in range(4):
        sh.values_get("Sheet1!A1")
    assert timer.waits == [20.0, 40.0]  # 429 at t=0 and t=20; the minute turns at t=60
    assert fake_google.call_counts()["values.get"] == 6


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)
    policy = RetryPolicy(base_delay=2, max_delay=5, jitter=False)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [2, 4, 5, 5]


def test_gspread_worksheet_flow_end_to_end(fake_google: FakeGoogle, service_account_file: Path, sheet_id: str) -> None:
    gc, _ = _client(fake_google, service_account_file)
    ws = gc.open_by_key(sheet_id).sheet1
    ws.append_rows([["churn", "3%"]], value_input_option="USER_ENTERED")
    records = ws.get_all_records(value_render_option="UNFORMATTED_VALUE")
    assert records == [{"kr": "signups", "value": 120}, {"kr": "churn", "value": 0.03}]


# --- requests that must not be repeated blindly ---------------------------------------------


def test_a_create_is_not_repeated_after_an_ambiguous_failure(fake_google: FakeGoogle,
                                                             service_account_file: Path) -> None:
    """A POST that may have been carried out (a dropped answer, a 5xx) is not retried: a second
    create would make a second spreadsheet. The error says so, for the caller to check."""
    gc, timer = _client(fake_google, service_account_file)
    fake_google.drop_next(1, kind="drive.files.create", after=True)
    with pytest.raises(GoogleConnectionError) as dropped:
        gc.create("Once")
    assert dropped.value.maybe_applied and "may have been carried out" in str(dropped.value)
    assert fake_google.call_counts()["drive.files.create"] == 1 and timer.waits == []
    assert [ss.title for ss in fake_google.spreadsheets] == ["Once"]  # it was made: once

    fake_google.fail_next(1, status=503, kind="drive.files.create")
    with pytest.raises(GoogleAPIError) as unavailable:
        gc.create("Twice")
    assert unavailable.value.maybe_applied and unavailable.value.code == 503
    assert fake_google.call_counts()["drive.files.create"] == 2


def test_a_post_that_certainly_did_not_happen_is_retried(fake_google: FakeGoogle, service_account_file: Path) -> None:
    gc, timer = _client(fake_google, service_account_file)
    fake_google.fail_next(2, status=429, kind="drive.files.create")
    assert gc.create("New").title == "New"
    assert timer.waits == [1.0, 2.0] and len(fake_google.spreadsheets) == 1


def test_idempotent_posts_are_still_retried(fake_google: FakeGoogle, service_account_file: Path,
                                            sheet_id: str) -> None:
    """values:batchUpdate writes the same cells however often it arrives: retried on a 5xx or a drop."""
    gc, timer = _client(fake_google, service_account_file)
    sh = gc.open_by_key(sheet_id)
    fake_google.fail_next(1, status=500, kind="values.batchUpdate")
    fake_google.drop_next(1, kind="values.batchUpdate", after=True)
    sh.values_batch_update({"valueInputOption": "RAW", "data": [{"range": "Sheet1!B2", "values": [[7]]}]})
    assert timer.waits == [1.0, 2.0]
    assert sh.values_get("Sheet1!B2")["values"] == [["7"]]


def test_which_requests_repeat_safely() -> None:
    from connectors.google_client import idempotent

    base = "https://sheets.googleapis.com/v4/spreadsheets/abc"
    assert idempotent("GET", base) and idempotent("put", base + "/values/A1")
    assert idempotent("POST", base + "/values:batchUpdate") and idempotent("POST", base + "/values:batchGet")
    assert not idempotent("POST", base + ":batchUpdate")  # adds rules, deletes by index
    assert not idempotent("POST", "https://www.googleapis.com/drive/v3/files")
    assert not idempotent("POST", base + "/values/A1:append")
