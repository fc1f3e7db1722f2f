"""One process, many syncs: the Google credentials, their access token and the quota bucket are kept.

Each test runs real syncs (`jobs.run_sync`, the reader, `sheetsync schedule`) against the
fake Google server and counts its token requests. Before, every sync loaded the key file
again and fetched a new token for its source reads and another for its tracker write; a
token is good for an hour, so a scheduler doing a sync every few minutes asked for dozens.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from connectors.google_client import (
    GoogleConfigError,
    RetryPolicy,
    _one_refresh_at_a_time,
    accounts_from_config,
    load_credentials,
)
from connectors.gsheet_source import read_gsheet_sources
from sheetsync.config import load_config
from sheetsync.core.model import Config, GoogleConfig, SourceConfig
from sheetsync.core.sources import SourceData
from sheetsync.errors import ConfigError
from sheetsync.runtime import jobs
from tests.fake_google import FakeGoogle, fixtures
from tests.test_gsheet_e2e import gsheet_project, sales_rows
from tests.test_schedule_process import start, stop, wait_for

fake_google = fixtures.fake_google

AS_OF = date(2026, 11, 24)
FIRST = fixtures.SERVICE_ACCOUNT_EMAIL
ROTATED = "sheetsync-next@fake-project.iam.gserviceaccount.com"  # as long as FIRST: the file keeps its size


def project(work: Path, fake: FakeGoogle) -> Config:
    """The shipped example reading a Google Sheet and writing a Google Sheet tracker."""
    gsheet_project(work, fake, fake.add_spreadsheet("Sales", {"Orders": sales_rows()}),
                   fake.add_spreadsheet("Acme OKR tracker"))
    return load_config(work / "config.toml")


def sync(config: Config, fake: FakeGoogle) -> dict[str, int]:
    """One sync in this process; the calls it made to Google."""
    fake.reset_calls()
    outcome = jobs.run_sync(config, AS_OF)
    assert outcome.exit_code == 0, outcome.result.errors
    return fake.call_counts()


def tokens(calls: dict[str, int]) -> int:
    return calls.get("oauth.token", 0)


def api_calls(calls: dict[str, int]) -> int:
    return sum(n for kind, n in calls.items() if kind != "oauth.token")


def test_syncs_in_one_process_share_one_access_token(fake_google: FakeGoogle, tmp_path: Path) -> None:
    config = project(tmp_path, fake_google)
    first = sync(config, fake_google)
    assert tokens(first) == 1  # the source reads and the tracker write use the same token
    second = sync(config, fake_google)
    assert tokens(second) == 0
    assert second["spreadsheets.batchUpdate"] == 1  # the second sync did talk to Google
    assert fake_google.calls_by_identity() == {FIRST: api_calls(second)}
    assert fake_google.auth_refusals == 0


def _rotate(path: Path, fake: FakeGoogle, how: str) -> None:
    if how == "renamed over":  # how key managers and secret mounts replace a file: a new inode
        fixtures.write_service_account(path.with_suffix(".new"), fake, email=ROTATED)
        os.replace(path.with_suffix(".new"), path)
        return
    # Rewritten in place within one timestamp tick: same inode, size and mtime, so a cache
    # keyed on the file's stat alone would keep using the old key.
    before = path.stat()
    fixtures.write_service_account(path, fake, email=ROTATED)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


@pytest.mark.parametrize("how", ["renamed over", "rewritten in place"])
def test_a_rotated_key_is_used_from_the_next_sync_on(fake_google: FakeGoogle, tmp_path: Path, how: str) -> None:
    config = project(tmp_path, fake_google)
    sync(config, fake_google)
    _rotate(tmp_path / "service-account.json", fake_google, how)
    fake_google.unregister_service_account(FIRST)  # the old key is deleted at Google
    after = sync(config, fake_google)
    assert tokens(after) == 1
    assert fake_google.calls_by_identity() == {ROTATED: api_calls(after)}  # not one call with the old token
    again = sync(config, fake_google)
    assert tokens(again) == 0
    assert fake_google.calls_by_identity() == {ROTATED: api_calls(again)}


@pytest.mark.parametrize("damage", ["vanished", "a directory", "half written"])
def test_a_credentials_file_that_became_unusable_fails_as_it_would_unkept(
    fake_google: FakeGoogle, tmp_path: Path, damage: str
) -> None:
    config = project(tmp_path, fake_google)
    sync(config, fake_google)
    assert tokens(sync(config, fake_google)) == 0  # kept
    path = tmp_path / "service-account.json"
    good = path.read_bytes()
    path.unlink()
    if damage == "a directory":
        path.mkdir()
    elif damage == "half written":
        path.write_bytes(good[: len(good) // 2])
    with pytest.raises(GoogleConfigError) as direct:
        load_credentials(path)
    fake_google.reset_calls()
    with pytest.raises(ConfigError) as raised:
        jobs.run_sync(config, AS_OF)
    assert str(direct.value) in str(raised.value)  # the message the first sync would have given
    assert raised.value.exit_code == 2
    assert api_calls(fake_google.call_counts()) == 0  # the kept token was not used meanwhile
    if path.is_dir():
        path.rmdir()
    path.write_bytes(good)
    assert tokens(sync(config, fake_google)) == 1  # forgotten when it failed: loaded again


def test_a_token_google_refuses_as_expired_is_refreshed_once_then_kept(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    config = project(tmp_path, fake_google)
    sync(config, fake_google)
    assert tokens(sync(config, fake_google)) == 0
    fake_google.advance_clock(3600)  # an hour later at Google: the token it issued has expired
    refreshed = sync(config, fake_google)
    assert tokens(refreshed) == 1 and fake_google.auth_refusals == 1  # one 401, one refresh, then on
    assert tokens(sync(config, fake_google)) == 0


def test_a_token_google_auth_deems_expired_is_refreshed_before_it_is_sent(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    config = project(tmp_path, fake_google)
    fake_google.set_token_lifetime(120)  # under google-auth's 3m45s margin: stale on arrival
    short = sync(config, fake_google)
    assert tokens(short) == api_calls(short)  # a fresh token before each request...
    assert fake_google.auth_refusals == 0  # ...so none was sent expired
    fake_google.set_token_lifetime(3599)
    assert tokens(sync(config, fake_google)) == 1  # the last short token is replaced once
    assert tokens(sync(config, fake_google)) == 0


def test_parallel_readers_fetch_one_token_and_the_lock_is_not_stacked(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    creds = fixtures.write_service_account(tmp_path / "sa.json", fake_google)
    fake_google.set_latency(0.05)  # the requests overlap: every thread wants the token at once
    keys = [fake_google.add_spreadsheet(f"S{i}", {"Data": [["Date", "Amount"], ["2026-10-01", i]]}) for i in range(6)]
    sources = [SourceConfig(name=f"s{i}", type="gsheet", spreadsheet=key, worksheet="Data")  # type: ignore[arg-type]
               for i, key in enumerate(keys)]
    google = GoogleConfig(credentials=creds, api_url=fake_google.url, parallel=6, requests_per_minute=600)
    for _ in range(2):
        got = read_gsheet_sources(sources, google)
        assert all(isinstance(got[f"s{i}"], SourceData) for i in range(6)), got
    assert fake_google.max_in_flight > 1
    assert tokens(fake_google.call_counts()) == 1
    (one,), (two,) = accounts_from_config(google), accounts_from_config(google)
    assert one.credentials is two.credentials and one.limiter is two.limiter
    locked = one.credentials.before_request
    assert getattr(locked, "one_at_a_time", False)
    assert _one_refresh_at_a_time(one.credentials).before_request is locked  # wrapped once, however often reused


def test_parallel_readers_refused_a_revoked_token_fetch_one_new_token(fake_google: FakeGoogle, tmp_path: Path) -> None:
    """A token Google stops accepting (revoked, or expired early) is refused to every thread sending it:
    each 401 made google-auth refresh on its own, one token request per thread at once."""
    creds = fixtures.write_service_account(tmp_path / "sa.json", fake_google)
    fake_google.set_latency(0.05)  # the requests overlap: every thread is refused the old token at once
    keys = [fake_google.add_spreadsheet(f"S{i}", {"Data": [["Date", "Amount"], ["2026-10-01", i]]}) for i in range(6)]
    sources = [SourceConfig(name=f"s{i}", type="gsheet", spreadsheet=key, worksheet="Data")  # type: ignore[arg-type]
               for i, key in enumerate(keys)]
    google = GoogleConfig(credentials=creds, api_url=fake_google.url, parallel=6, requests_per_minute=600)
    assert all(isinstance(got, SourceData) for got in read_gsheet_sources(sources, google).values())
    fake_google.revoke_tokens()
    fake_google.reset_calls()
    got = read_gsheet_sources(sources, google)
    assert all(isinstance(got[f"s{i}"], SourceData) for i in range(6)), got
    refused = fake_google.auth_refusals  # every thread whose request was in flight: 6 unless one started late
    assert fake_google.max_in_flight > 1 and refused >= 2
    assert tokens(fake_google.call_counts()) == 1  # the first refused refreshes; the others use its token
    fake_google.reset_calls()
    assert all(isinstance(got, SourceData) for got in read_gsheet_sources(sources, google).values())
    assert tokens(fake_google.call_counts()) == 0 and fake_google.auth_refusals == refused  # the new token is kept


def test_back_to_back_reads_share_the_per_minute_quota(fake_google: FakeGoogle, tmp_path: Path) -> None:
    """A bucket made afresh per sync starts full: the second sync's first request would be refused."""
    timer = fixtures.FakeTime(fake_google)  # waits move the fake's quota clock, not real time
    creds = fixtures.write_service_account(tmp_path / "sa.json", fake_google)
    key = fake_google.add_spreadsheet("S", {"Data": [["Date", "Amount"], ["2026-10-01", 1]]})
    source = SourceConfig(name="s", type="gsheet", spreadsheet=key, worksheet="Data")  # type: ignore[arg-type]
    fake_google.set_quota(1, per_user=True)
    google = GoogleConfig(credentials=creds, api_url=fake_google.url, requests_per_minute=1)
    for _ in range(2):
        retry = RetryPolicy(jitter=False, sleep=timer.sleep, clock=timer.clock, total_timeout=600)
        assert isinstance(read_gsheet_sources([source], google, retry=retry)["s"], SourceData)
    assert fake_google.call_counts()["values.batchGet"] == 2
    assert fake_google.quota_refusals == 0
    assert sum(timer.waits) == pytest.approx(60)  # the second read waited for the minute's budget


def test_the_scheduler_process_keeps_one_token_across_its_syncs(fake_google: FakeGoogle, tmp_path: Path) -> None:
    project(tmp_path, fake_google)
    config = tmp_path / "config.toml"
    config.write_text(re.sub(r"^sync = .*$", 'sync = "every 1 seconds"', config.read_text(), count=1, flags=re.M))
    fake_google.reset_calls()
    proc, out, err = start(config, "--no-catch-up")
    try:
        wait_for(lambda: out.read_text().count("job=sync") >= 3, proc, err, timeout=60)
    finally:
        stop(proc)
    runs = out.read_text().count("job=sync")
    calls = fake_google.call_counts()
    assert calls["spreadsheets.batchUpdate"] >= runs >= 3  # every sync wrote the tracker
    assert tokens(calls) == 1, calls
    warning = f"Google credentials file {tmp_path / 'service-account.json'} is readable by other users"
    assert err.read_text().count(warning) == 1  # said once, not once a sync
    assert "Traceback" not in err.read_text()


def test_the_world_readable_warning_comes_once_per_file(
    fake_google: FakeGoogle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = project(tmp_path, fake_google)
    path = tmp_path / "service-account.json"
    os.chmod(path, 0o644)
    warning = f"Google credentials file {path} is readable by other users"

    def warnings() -> int:
        return sum(warning in r.getMessage() for r in caplog.records)

    sync(config, fake_google)
    sync(config, fake_google)
    assert warnings() == 1
    os.chmod(path, 0o600)
    sync(config, fake_google)
    os.chmod(path, 0o640)  # made readable again: worth saying again
    sync(config, fake_google)
    assert warnings() == 2
    shutil.copyfile(path, tmp_path / "copy.json")
    os.chmod(tmp_path / "copy.json", 0o640)
    os.replace(tmp_path / "copy.json", path)  # a new file with the same key
    assert tokens(sync(config, fake_google)) == 0  # same key: same credentials and token
    assert warnings() == 3
    assert json.loads(path.read_text())["client_email"] == FIRST
