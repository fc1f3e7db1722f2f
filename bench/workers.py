"""What runs in each measured process: `python -m bench.workers TASK RUN_DIR`.

Every stage runs in a fresh process started by `bench.run`, so its peak RSS is its own
and sheetsync never shares a high-water mark with the hand-written script. Read and
compute share one process, as they do in a real sync (compute needs the frames read);
the tracker and the digest each start from the pickled result. Each task writes
``RUN_DIR/TASK.json``: seconds and the process's peak RSS after each stage, and what the
report checks (rows, failed sources, KPI values).

Peak RSS is the kernel's high-water mark for this process's memory (VmHWM). Not
``ru_maxrss``: on Linux that survives fork and exec, so every worker would report at
least the size of the benchmark process that started it (which holds the test server's
spreadsheets).
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

TASKS = ("sheetsync-sync", "sheetsync-tracker", "sheetsync-digest",
         "baseline-sync", "baseline-tracker", "baseline-digest", "polars-sync", "sheetsync-google", "floor",
         "sheetsync-prepare-cpu")
GOOGLE_PREFIXES = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def peak_kb() -> int:
    """This process's peak resident memory in kB since it exec'd (VmHWM; ru_maxrss where there is no /proc)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Stages:
    """Wall time and the process's peak RSS (kB) at the end of each stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_kb: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        self.peak_kb[name] = peak_kb()


def _clock(run: dict[str, Any]) -> Any:
    if not run.get("clock"):
        return None
    from bench.vclock import SharedClock

    return SharedClock(run["clock"])


# --- sheetsync -------------------------------------------------------------------------------


def sheetsync_sync(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    import dataclasses
    import threading

    from connectors import google_client, gsheet_source  # noqa: F401  (imported before timing)
    from connectors.sources import read_sources
    from sheetsync.config import load_config
    from sheetsync.runtime.pipeline import compute, read_with, source_preparer

    clock = _clock(run)
    if clock is not None:  # retries and the quota bucket wait on the shared simulated clock, not sleeping
        policy = google_client._policy

        def simulated(google: Any, retry: Any) -> Any:
            return dataclasses.replace(policy(google, retry), sleep=clock.sleep, clock=clock.now)

        google_client._policy = simulated
    with st.stage("config"):
        config = load_config(run["config"])
    preparing = 0.0
    counting = threading.Lock()
    prepare_source = source_preparer(config)

    def prepare(got: Any) -> Any:
        """As a sync does: each source prepared for its KPIs as it is read, its rows released."""
        nonlocal preparing
        started = time.perf_counter()
        try:
            return prepare_source(got)
        finally:
            with counting:
                preparing += time.perf_counter() - started

    def reader(sources: Any, google: Any) -> Any:
        """`read_with`'s own reader, its preparing timed (and no state folder: every read is cold)."""
        return read_sources(sources, google, prepare=prepare, threads=config.threads)

    with st.stage("read"):
        data = read_with(config, reader, as_of=date.fromisoformat(run["as_of"]))
    with st.stage("compute"):
        result = compute(config, data, date.fromisoformat(run["as_of"]))
    # Preparing the KPIs' inputs is computing, though it runs on the reading threads between
    # reads: counted there, its thread time shared out over the threads that ran at once.
    from connectors.sources import default_threads

    files = sum(1 for s in config.sources.values() if s.type in ("csv", "xlsx"))
    preparing /= max(1, min(config.threads or default_threads(), files))
    st.seconds["read"] -= preparing
    st.seconds["compute"] += preparing
    out["rows"] = sum(s.rows for s in result.sources)
    out["failed_sources"] = [f"{s.name}: {s.error}" for s in result.sources if s.status == "failed"]
    out["errors"] = list(result.errors[:5])
    out["warnings"] = len(result.warnings) + sum(len(s.warnings) for s in result.sources)
    out["kpis"] = {k.id: k.value for k in result.kpis}
    out["krs"] = {kr.id: kr.status for kr in result.key_results}
    with open(Path(run["dir"]) / "sheetsync-result.pkl", "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)


def sheetsync_prepare_cpu(run: dict[str, Any], st: Stages, out: dict[str, Any], rounds: int = 9) -> None:
    """CPU seconds of preparing the sources read and computing, on one thread: best of `rounds`.

    The sources are read once first; wall times on a shared machine move by half, and the
    reading threads share out preparing between them, so this is the steadier figure.
    """
    from connectors.sources import read_sources
    from sheetsync.config import load_config
    from sheetsync.runtime.pipeline import compute, source_preparer

    config = load_config(run["config"])
    as_of = date.fromisoformat(run["as_of"])
    raw = dict(read_sources([s for s in config.sources.values() if not s.is_warehouse], config.google))
    prepare = source_preparer(config)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        compute(config, {name: prepare(got) for name, got in raw.items()}, as_of)
        best = min(best, time.process_time() - started)
    out["cpu_seconds"] = best


def _sheetsync_result(run: dict[str, Any]) -> tuple[Any, Any]:
    from sheetsync.config import load_config

    config = load_config(run["config"])
    with open(Path(run["dir"]) / "sheetsync-result.pkl", "rb") as handle:
        return config, pickle.load(handle)


def sheetsync_tracker(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    """As `sheetsync.runtime.jobs.run_sync` does after reading: the week's snapshot and the tracker, together."""
    from sheetsync.runtime.history import History
    from sheetsync.runtime.jobs import tracker_content, write_tracker

    config, result = _sheetsync_result(run)
    with st.stage("write tracker"), History.for_state_dir(config.state_dir) as history, history.transaction():
        history.record(result)
        path = write_tracker(config, tracker_content(config, result, history))
    out["output"] = path
    out["bytes"] = os.path.getsize(path)


def sheetsync_digest(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    from sheetsync.runtime.jobs import run_digest

    config, result = _sheetsync_result(run)
    with st.stage("digest"):
        outcome = run_digest(config, result.as_of, result=result, force=True)
    out["deliveries"] = [d.describe() for d in outcome.deliveries]
    out["bytes"] = sum(d.size for d in outcome.deliveries)
    out["render_seconds"] = outcome.render_seconds
    emails = [d for d in outcome.deliveries if d.channel == "email" and d.size]
    out["digests"] = len(emails)
    out["largest_digest_bytes"] = max((d.size for d in emails), default=0)


# --- the hand-written script -----------------------------------------------------------------


def _gspread_opener(run: dict[str, Any]) -> Callable[[], Any]:
    """gspread as a script opens it, pointed at the test server (and with backoff under a quota)."""
    import gspread
    import gspread.http_client as http

    api_url = run["api_url"]
    clock = _clock(run)
    base = http.BackOffHTTPClient if run.get("quota") else http.HTTPClient
    if clock is not None:  # BackOffHTTPClient calls time.sleep: make it skip on the shared clock
        http.time = types.SimpleNamespace(sleep=clock.sleep, time=time.time, monotonic=time.monotonic)  # type: ignore[attr-defined]

    class LocalHTTPClient(base):  # type: ignore[misc, valid-type]
        """Only the endpoint differs from what the script would use against Google."""

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for prefix in GOOGLE_PREFIXES:
                if endpoint.startswith(prefix):
                    endpoint = api_url + endpoint[len(prefix):]
            return super().request(method, endpoint, *args, **kwargs)

    return lambda: gspread.service_account(filename=run["credentials"], http_client=LocalHTTPClient)


def baseline_sync(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    import pandas as pd  # noqa: F401  (imported before timing, as the script's first line would be)

    from bench import baseline

    _script_sync(run, st, out, baseline, "baseline")


def polars_sync(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    import polars  # noqa: F401  (imported before timing)

    from bench import polars_script

    _script_sync(run, st, out, polars_script, "polars")


def _script_sync(run: dict[str, Any], st: Stages, out: dict[str, Any], script: Any, name: str) -> None:
    manifest = json.loads(Path(run["manifest"]).read_text())
    opener = _gspread_opener(run)
    with st.stage("read"):
        frames = script.read_sources(manifest["sources"], Path(run["data"]), opener)
    with st.stage("compute"):
        result = script.compute(manifest, frames, date.fromisoformat(run["as_of"]))
    out["rows"] = sum(result["rows"].values())
    out["kpis"] = {k: v["value"] for k, v in result["kpis"].items()}
    out["krs"] = {kr["id"]: kr["status"] for o in result["objectives"] for kr in o["key_results"]}
    with open(Path(run["dir"]) / f"{name}-result.pkl", "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)


def sheetsync_google(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    """Only the Google Sheets sources, as configured (parallel, accounts, quota): the latency runs."""
    from connectors.gsheet_source import read_gsheet_sources
    from sheetsync.config import load_config

    config = load_config(run["config"])
    sheets = [s for s in config.sources.values() if s.type == "gsheet"]
    with st.stage("read"):
        data = read_gsheet_sources(sheets, config.google)
    out["rows"] = sum(getattr(d, "rows", 0) for d in data.values())
    out["failed_sources"] = [str(d) for d in data.values() if isinstance(d, Exception)]


def _baseline_result(run: dict[str, Any]) -> Any:
    with open(Path(run["dir"]) / "baseline-result.pkl", "rb") as handle:
        return pickle.load(handle)


def baseline_tracker(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    from bench import baseline

    result = _baseline_result(run)
    path = Path(run["dir"]) / "baseline" / "okr_tracker.xlsx"
    with st.stage("write tracker"):
        baseline.write_tracker(result, path)
    out["bytes"] = path.stat().st_size


def baseline_digest(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    from bench import baseline

    result = _baseline_result(run)
    path = Path(run["dir"]) / "baseline" / "digest.eml"
    with st.stage("digest"):
        baseline.write_digest(result, path)
    out["bytes"] = path.stat().st_size


# --- the floor: pandas only loading the same data --------------------------------------------


def floor(run: dict[str, Any], st: Stages, out: dict[str, Any]) -> None:
    """pandas' own load time for the files, and one raw batchGet per spreadsheet for the sheets."""
    import pandas as pd
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    manifest = json.loads(Path(run["manifest"]).read_text())
    root = Path(run["data"])
    rows = 0
    with st.stage("files"):
        for s in manifest["sources"]:
            if s["type"] == "csv":
                rows += len(pd.read_csv(root / s["path"]))
            elif s["type"] == "xlsx":
                rows += len(pd.read_excel(root / s["path"], sheet_name=s["sheet"], engine="calamine"))
    tabs: dict[str, list[str]] = {}
    for s in manifest["sources"]:
        if s["type"] == "gsheet":
            tabs.setdefault(s["spreadsheet"], []).append(s["sheet"])
    if tabs:
        creds = service_account.Credentials.from_service_account_file(
            run["credentials"], scopes=["https://www.googleapis.com/auth/spreadsheets.readonly"]
        )
        session = AuthorizedSession(creds)
        with st.stage("sheets"):
            for key, titles in tabs.items():
                params = [("ranges", "'" + t.replace("'", "''") + "'") for t in titles]
                params += [("valueRenderOption", "UNFORMATTED_VALUE"), ("dateTimeRenderOption", "SERIAL_NUMBER")]
                answer = session.get(f"{run['api_url']}/v4/spreadsheets/{key}/values:batchGet", params=params)
                answer.raise_for_status()
                for value_range in answer.json()["valueRanges"]:
                    values = value_range.get("values", [])
                    width = len(values[0]) if values else 0  # Google trims trailing blanks: pad
                    body = [row + [None] * (width - len(row)) for row in values[1:]]
                    rows += len(pd.DataFrame(body, columns=values[0] if values else None))
    out["rows"] = rows


_RUNNERS: dict[str, Callable[[dict[str, Any], Stages, dict[str, Any]], None]] = {
    "sheetsync-sync": sheetsync_sync,
    "sheetsync-tracker": sheetsync_tracker,
    "sheetsync-digest": sheetsync_digest,
    "baseline-sync": baseline_sync,
    "polars-sync": polars_sync,
    "sheetsync-google": sheetsync_google,
    "sheetsync-prepare-cpu": sheetsync_prepare_cpu,
    "baseline-tracker": baseline_tracker,
    "baseline-digest": baseline_digest,
    "floor": floor,
}


def main(argv: list[str]) -> int:
    task, run_dir = argv
    run = json.loads((Path(run_dir) / "run.json").read_text())
    st = Stages()
    out: dict[str, Any] = {"task": task}
    try:
        _RUNNERS[task](run, st, out)
    finally:
        out["seconds"] = st.seconds
        out["peak_kb"] = st.peak_kb
        out["process_peak_kb"] = peak_kb()
        (Path(run_dir) / f"{task}.json").write_text(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
