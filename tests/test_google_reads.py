"""Parallel, quota-aware and incremental Google Sheets reads: the mechanisms, on simulated clocks.

Nothing here is timed: the rate limiter is checked against its budget on a simulated clock,
the spread over service accounts and the zero-429 promise against the fake's per-user quota
(its clock moved by the same simulated sleeps), and incremental reads by counting requests.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import SourceError
from connectors.google_client import RetryPolicy
from connectors.gsheet_cache import ValuesStore
from connectors.gsheet_source import read_gsheet_sources
from connectors.rate_limit import TokenBucket
from sheetsync.core.model import GoogleConfig, SourceConfig
from sheetsync.core.sources import SourceData
from tests.fake_google import FakeGoogle, cells, fixtures

fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def most_in_any_window(times: list[float], window: float = 60.0) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window + 1e-6:  # 60 s apart is two windows (float rounding aside)
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest.mark.parametrize("per_minute", [1, 7, 60, 300])
def test_rate_limiter_never_exceeds_its_budget_on_a_simulated_clock(per_minute: int) -> None:
    """Requests arriving in bursts and lulls: never more than the budget in any 60 s, yet near it."""
    sim = SimClock()
    bucket = TokenBucket(per_minute, clock=sim.clock, sleep=sim.sleep)
    rng = random.Random(per_minute)
    sent: list[float] = []
    arrival = 0.0
    requests = per_minute * 5 + 3
    pending: list[float] = []
    for _ in range(requests):  # callers arrive at their own times; each is sent when its token is due
        arrival += rng.choice([0.0, 0.0, 0.0, 0.01, 2.0, 30.0])
        pending.append(arrival)
    for when in pending:
        sim.now = max(sim.now, when)  # time only moves forward
        wait = bucket.reserve()
        sent.append(sim.now + wait)
    assert most_in_any_window(sent) <= per_minute
    assert all(b >= a for a, b in itertools.pairwise(sent))  # first come, first served
    # Near the budget when saturated: a backlog drains at (per_minute - burst) a minute at least.
    saturated = TokenBucket(per_minute, clock=sim.clock, sleep=sim.sleep)
    start = sim.now = 10_000.0
    times = [sim.now + saturated.reserve() for _ in range(per_minute * 3)]
    assert most_in_any_window(times) <= per_minute
    assert times[-1] - start == pytest.approx((len(times) - saturated.burst) / saturated.rate)
    assert saturated.rate * 60 >= 0.9 * per_minute or per_minute < 10  # the burst costs little throughput


def test_acquire_sleeps_for_its_token_and_counts_the_wait() -> None:
    sim = SimClock()
    bucket = TokenBucket(60, burst=2, clock=sim.clock, sleep=sim.sleep)
    waits = [bucket.acquire() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(60 / 58)
    assert sim.now == pytest.approx(waits[2] + waits[3])
    assert bucket.waited == pytest.approx(sum(waits))


def sheet(fake: FakeGoogle, title: str, value: float) -> str:
    return fake.add_spreadsheet(title, {"Data": [["Date", "Amount"], ["2026-10-01", value]]})


def src(name: str, key: str, **options: object) -> SourceConfig:
    options.setdefault("worksheet", "Data")
    return SourceConfig(name=name, type="gsheet", spreadsheet=key, **options)  # type: ignore[arg-type]


def amount(result: SourceData | Exception) -> object:
    assert isinstance(result, SourceData), result
    return result.frame["Amount"].iloc[0]


def test_reads_are_spread_over_service_accounts_and_stay_under_each_quota(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    """Three accounts, twelve spreadsheets, a per-user quota of 2 a minute: no 429, four each.

    One at a time: simulated sleeps in several threads would move one shared clock by their sum.
    """
    timer = fixtures.FakeTime(fake_google)  # waits move the fake's quota clock, not real time
    emails = [f"reader{i}@fake-project.iam.gserviceaccount.com" for i in range(3)]
    files = [fixtures.write_service_account(tmp_path / f"sa{i}.json", fake_google, email=e)
             for i, e in enumerate(emails)]
    keys = [sheet(fake_google, f"S{i}", i) for i in range(12)]
    fake_google.set_quota(2, per_user=True)
    google = GoogleConfig(credentials=str(files[0]), extra_credentials=tuple(map(str, files[1:])),
                          api_url=fake_google.url, requests_per_minute=2, parallel=1)
    retry = RetryPolicy(jitter=False, sleep=timer.sleep, clock=timer.clock, total_timeout=600)
    got = read_gsheet_sources([src(f"s{i}", key) for i, key in enumerate(keys)], google, retry=retry)
    assert [amount(got[f"s{i}"]) for i in range(12)] == list(range(12))
    assert fake_google.quota_refusals == 0
    assert fake_google.calls_by_identity() == dict.fromkeys(emails, 4)
    assert sum(timer.waits) >= 60  # each account waited for its quota instead of being refused


def test_spreadsheets_are_read_in_parallel(fake_google: FakeGoogle, service_account_file: Path) -> None:
    fake_google.set_latency(0.2)  # each request takes 200 ms, as Google's do: the reads overlap
    keys = [sheet(fake_google, f"S{i}", i) for i in range(6)]
    google = GoogleConfig(credentials=str(service_account_file), api_url=fake_google.url, parallel=3)
    got = read_gsheet_sources([src(f"s{i}", key) for i, key in enumerate(keys)], google)
    assert [amount(got[f"s{i}"]) for i in range(6)] == list(range(6))
    assert 2 <= fake_google.max_in_flight <= 3
    assert fake_google.call_counts() == {"oauth.token": 1, "values.batchGet": 6}  # one token for all threads


def read_incrementally(fake: FakeGoogle, creds: Path, state: Path, *sources: SourceConfig, **google: object):
    fake.reset_calls()
    config = GoogleConfig(credentials=str(creds), api_url=fake.url, **google)  # type: ignore[arg-type]
    got = read_gsheet_sources(sources, config, state_dir=state)
    counts = fake.call_counts()
    return got, counts.get("values.batchGet", 0), counts.get("drive.files.list", 0)


def edited_an_hour_ago(fake: FakeGoogle, *keys: str) -> None:
    stamp = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for key in keys:
        fake.spreadsheet(key).modified_time = stamp


def test_an_unchanged_spreadsheet_is_not_read_again_and_a_changed_one_is(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    keys = [sheet(fake_google, f"S{i}", 10 * i) for i in range(3)]
    edited_an_hour_ago(fake_google, *keys)
    sources = [src(f"s{i}", key) for i, key in enumerate(keys)]

    got, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources)
    assert (batches, lists) == (3, 0)  # nothing kept yet: every spreadsheet read, none listed
    assert [amount(got[f"s{i}"]) for i in range(3)] == [0, 10, 20]

    got, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources)
    assert (batches, lists) == (0, 1)  # one files.list said nothing changed: no read at all
    assert [amount(got[f"s{i}"]) for i in range(3)] == [0, 10, 20]
    (listing,) = fake_google.calls_of("drive.files.list")
    assert listing.query["q"][0] == "mimeType = 'application/vnd.google-apps.spreadsheet' and trashed = false"

    ss = fake_google.spreadsheet(keys[1])  # someone edits one spreadsheet
    ss.sheet("Data").put(1, 1, cells.from_python(11))
    ss.touch()
    got, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources)
    assert (batches, lists) == (1, 1)
    assert [c.path for c in fake_google.calls_of("values.batchGet")] == [f"/v4/spreadsheets/{keys[1]}/values:batchGet"]
    assert [amount(got[f"s{i}"]) for i in range(3)] == [0, 11, 20]


def test_a_spreadsheet_the_account_can_no_longer_see_is_read_again_and_fails(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    """Drive lists no file the account lost (unshared, trashed): its kept values are not today's."""
    state = tmp_path / "state"
    keys = [sheet(fake_google, f"S{i}", 10 * i) for i in range(2)]
    edited_an_hour_ago(fake_google, *keys)
    sources = [src(f"s{i}", key) for i, key in enumerate(keys)]
    read_incrementally(fake_google, service_account_file, state, *sources)
    fake_google.deny(keys[1])  # unshared: Sheets answers 403, Drive lists it no more
    got, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources)
    assert (batches, lists) == (1, 1)  # the one still listed and unchanged is kept; the other is read
    assert amount(got["s0"]) == 0
    assert isinstance(got["s1"], SourceError) and "access denied (HTTP 403)" in str(got["s1"])


def test_opted_out_sources_and_the_periodic_full_read_always_read(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    plain, volatile = sheet(fake_google, "Plain", 1), sheet(fake_google, "Imports", 2)
    edited_an_hour_ago(fake_google, plain, volatile)
    sources = [src("plain", plain), src("volatile", volatile, incremental=False)]  # IMPORTRANGE, NOW()
    read_incrementally(fake_google, service_account_file, state, *sources)
    _, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources)
    assert (batches, lists) == (1, 1)
    assert fake_google.calls_of("values.batchGet")[0].path.endswith(f"{volatile}/values:batchGet")
    _, batches, lists = read_incrementally(fake_google, service_account_file, state, *sources, full_read_days=0)
    assert (batches, lists) == (2, 0)  # due for the full read: nothing to ask Drive


def test_a_failed_read_keeps_the_last_good_values_and_a_new_tab_is_a_full_read(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    key = sheet(fake_google, "S", 5)
    edited_an_hour_ago(fake_google, key)
    read_incrementally(fake_google, service_account_file, state, src("s", key))
    kept = ValuesStore(state).load(key)
    assert kept is not None and kept.covers(["'Data'"])
    fake_google.spreadsheet(key).touch()
    fake_google.fail_next(1, status=404, kind="values.batchGet")
    got, _, _ = read_incrementally(fake_google, service_account_file, state, src("s", key))
    assert not isinstance(got["s"], SourceData)
    assert ValuesStore(state).load(key) == kept  # the failure did not replace the good copy
    fake_google.spreadsheet(key).add_sheet({"title": "More"})
    edited_an_hour_ago(fake_google, key)
    _, batches, _ = read_incrementally(
        fake_google, service_account_file, state, src("s", key), src("more", key, worksheet="More")
    )
    assert batches == 1  # the kept copy has no 'More' range


def test_without_the_drive_api_every_spreadsheet_is_read(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    key = sheet(fake_google, "S", 5)
    edited_an_hour_ago(fake_google, key)
    read_incrementally(fake_google, service_account_file, state, src("s", key))
    fake_google.fail_next(1, status=403, kind="drive.files.list", message="Google Drive API has not been used")
    got, batches, lists = read_incrementally(fake_google, service_account_file, state, src("s", key))
    assert (batches, lists, amount(got["s"])) == (1, 1, 5)
    assert "cannot ask Google Drive which spreadsheets changed" in caplog.text
