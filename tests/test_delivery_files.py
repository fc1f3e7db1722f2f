"""An undelivered message names the outbox file it waits in: the error, the CLI's line, the log, the outcome.

Ops find a digest that did not go out by that file (to resend it, or see what it said), so
every path that keeps one reports it: a digest SMTP did not take, a queued one a later run
could not send either, a chat post, an alert, and the scheduler's log line. Real parts: a
port nothing listens on, an aiosmtpd server on 127.0.0.1 that refuses every message, the
loopback webhook server.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.smtp_mailer import DeliveryError
from connectors.webhooks import WebhookError
from sheetsync.config import load_config
from sheetsync.core.snapshot import week_key
from sheetsync.runtime.jobs import run_digest
from sheetsync.runtime.scheduler import Scheduler
from tests.helpers import copy_example
from tests.test_digest_smtp import (
    AS_OF,
    CC,
    SALES,
    TO,
    LoopbackController,
    digest,
    errors,
    free_port,
    project,
    set_port,
)
from tests.webhook_server import WebhookServer

WEEK = "2026-W48"


class Refusing:
    """An aiosmtpd handler that takes the connection and refuses every message for now (451)."""

    def __init__(self) -> None:
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.refused += 1
        return "451 4.3.0 mailbox busy, try again later"


def test_a_digest_smtp_did_not_take_is_located_in_its_pending_file(tmp_path: Path) -> None:
    dead = free_port()
    config = load_config(project(tmp_path, dead))
    outcome = run_digest(config, date.fromisoformat(AS_OF))
    pending = tmp_path / "outbox" / "pending"
    assert outcome.exit_code == 1
    assert [(d.audience, d.path) for d in outcome.failures] == [
        ("all", pending / f"{WEEK}-all.eml"), ("Sales", pending / f"{WEEK}-Sales.eml")]
    for delivery, recipients in zip(outcome.failures, [(TO, f"OKR office <{CC}>"), (SALES,)], strict=True):
        failure = delivery.failure
        assert isinstance(failure, DeliveryError)
        assert delivery.path is not None and delivery.path.is_file()
        # Each message its own file and recipients: the server's failure is not the first message's.
        assert failure.where == {"file": str(delivery.path), "channel": "email", "server": f"127.0.0.1:{dead}",
                                 "recipients": recipients}
        assert f"kept in {delivery.path} for the next run" in delivery.describe()
    assert outcome.pending_files == [str(pending / f"{WEEK}-all.eml"), str(pending / f"{WEEK}-Sales.eml")]


def test_a_queued_digest_a_refusing_server_will_not_take_names_its_file_on_the_command_line(tmp_path: Path) -> None:
    config = project(tmp_path, free_port())
    assert digest(tmp_path).returncode == 1  # down: both digests queued
    handler = Refusing()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        set_port(config, controller.port)  # up, but refusing: the queued messages are tried and stay
        proc = digest(tmp_path)
        outcome = run_digest(load_config(config), date.fromisoformat(AS_OF))
    finally:
        controller.stop()
    assert proc.returncode == 1 and handler.refused == 2 * 2 * 2  # 2 messages, 2 attempts, 2 runs
    pending = tmp_path / "outbox" / "pending"
    files = sorted(pending.iterdir())  # the queue goes oldest week first, then by name: Sales, all
    assert [p.name for p in files] == [f"{WEEK}-Sales.eml", f"{WEEK}-all.eml"]
    lines = errors(proc)
    assert len(lines) == 2
    for line, path in zip(lines, files, strict=True):
        assert line.startswith(f"error: the {WEEK} digest for ")
        assert "SMTP 127.0.0.1:" in line and "451 4.3.0 mailbox busy" in line
        assert line.endswith(f"kept in {path} for the next run") and path.is_file()
        logged = [entry for entry in proc.stderr.splitlines() if " ERROR sheetsync.core.digest: " in entry]
        assert any(entry.endswith(f"kept in {path} for the next run") for entry in logged), proc.stderr
    assert [d.failure.where["file"] for d in outcome.failures if d.failure] == [str(p) for p in files]
    assert outcome.pending_files == [str(p) for p in files]


def test_a_chat_post_and_a_queued_one_name_the_file_they_wait_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = copy_example(tmp_path)
    config_path.write_text(config_path.read_text().replace('outbox = "outbox"', 'outbox = "outbox"\nretries = 2\n'
                           'retry_wait = 0.01', 1) + '\n[digest.slack]\nwebhook_env = "TEST_SLACK_FILES"\n')
    with WebhookServer() as hooks:
        monkeypatch.setenv("TEST_SLACK_FILES", hooks.url("/slack"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        hooks.script("/slack", 503, 503, 503, 503)  # this run and the next
        first = run_digest(load_config(config_path), date.fromisoformat(AS_OF))
        queued = run_digest(load_config(config_path), date.fromisoformat(AS_OF))
    path = tmp_path / "outbox" / "pending" / f"{WEEK}-all.slack.json"
    assert path.is_file() and json.loads(path.read_text())["webhook_env"] == "TEST_SLACK_FILES"
    for outcome in (first, queued):
        (failed,) = outcome.failures
        assert isinstance(failed.failure, WebhookError) and failed.path == path
        assert failed.failure.where == {"file": str(path), "channel": "slack", "env": "TEST_SLACK_FILES"}
        assert failed.describe().endswith(f"kept in {path} for the next run")
        assert outcome.pending_files == [str(path)]


def test_the_schedulers_log_line_names_the_pending_files(tmp_path: Path) -> None:
    config_path = copy_example(tmp_path, never_stale=True)
    text = config_path.read_text().replace(
        'outbox = "outbox"', f'outbox = "outbox"\nsmtp_host = "127.0.0.1"\nsmtp_port = {free_port()}\n'
        'security = "none"\nretries = 1\n', 1)
    config_path.write_text(text.replace('sync = "', 'sync = [] # "', 1))  # the digest reads the sources itself
    config = load_config(config_path)
    lines: list[str] = []
    run = Scheduler(config, emit=lines.append).run_job("digest", "schedule")
    assert run is not None and (run.outcome, run.exit_code) == ("failed", 1), lines
    path = tmp_path / "outbox" / "pending" / f"{week_key(datetime.now(config.zone).date())}-all.eml"
    assert path.is_file()
    assert run.pending == (str(path),)
    assert f" pending={path} " in lines[-1] and "job=digest outcome=failed" in lines[-1]
