"""Check-in reminders: each owner whose key results have no check-in this week gets one email, once.

Through the digest's delivery path: the outbox without SMTP, a real SMTP server on loopback
with one, and the same once-per-week record.
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from sheetsync.config import load_config
from sheetsync.runtime.delivery import DigestOutcome
from sheetsync.runtime.scheduler import Scheduler
from tests.helpers import copy_example, run_cli
from tests.test_checkins_xlsx import TRACKER, sync, type_checkins
from tests.test_digest_smtp import free_port, set_port, smtp  # noqa: F401  (smtp: the loopback SMTP server fixture)

FRIDAY = "2026-11-27"  # in 2026-W48


def project(tmp_path: Path, digest: str = "") -> Path:
    """The example with owner emails: O1's on the objective, O2-KR1's on the key result; O3 has none."""
    config = copy_example(tmp_path)
    text = config.read_text(encoding="utf-8")
    text = text.replace('owner = "Head of Support"\n',
                        'owner = "Head of Support"\nowner_email = "support-lead@acme.example"\n')
    text = text.replace('title = "Grow sales 30% over Q3"\n',
                        'title = "Grow sales 30% over Q3"\nowner = "Bo"\nowner_email = "bo@acme.example"\n')
    text = text.replace('digest = "monday 08:00"', 'digest = "monday 08:00"\nremind = "friday 15:00"')
    if digest:
        start, end = text.index("[digest]"), text.index("[schedule]")
        text = text[:start] + digest + "\n" + text[end:]
    config.write_text(text, encoding="utf-8")
    return config


def remind(work: Path, *args: str):
    proc = run_cli("remind", "--config", "config.toml", "--as-of", FRIDAY, *args, cwd=work)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_owners_without_a_check_in_this_week_are_reminded_once(tmp_path: Path):
    project(tmp_path)
    sync(tmp_path, "2026-11-24", "r.json")
    # Typed into the tab since the sync: it counts, the owner is not reminded for it.
    type_checkins(tmp_path / TRACKER, {"O1-KR1": {"Confidence": "On track"}})
    proc = remind(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no reminder for O2-KR2, O2-KR3, O3-KR1: set owner_email" in proc.stderr
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [f.name for f in files] == ["2026-W48-reminder_bo_acme.example.eml",
                                       "2026-W48-reminder_support-lead_acme.example.eml"]  # fmt: skip
    message = email.message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert message["To"] == "support-lead@acme.example"
    assert message["Subject"] == "Acme OKRs · your check-in for week 48"
    text = message.get_body(("plain",)).get_content()
    assert "Hi Head of Support," in text and "O1-KR2 Cut first response time from 5 to 2 minutes" in text
    assert "O1-KR1" not in text  # checked in
    assert "the Check-ins tab of the tracker, okr_tracker.xlsx" in text
    again = remind(tmp_path)
    assert again.returncode == 0 and again.stdout.count("was already sent") == 2
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_reminders_go_out_over_smtp(tmp_path: Path, smtp):  # noqa: F811
    controller, inbox = smtp
    project(tmp_path, f"""[digest]
to = ["leadership@acme.example"]
from = "OKR bot <okrs@acme.example>"
smtp_host = "127.0.0.1"
smtp_port = {controller.port}
security = "none"
timeout = 5
retries = 1
""")
    proc = remind(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(rcpt[0] for _, rcpt, _ in inbox.received) == ["bo@acme.example", "support-lead@acme.example"]
    assert remind(tmp_path).stdout.count("was already sent") == 2 and len(inbox.received) == 2


@pytest.mark.parametrize("flushed_by", ["remind", "digest"])
def test_a_reminder_queued_in_an_smtp_outage_is_dropped_once_its_owner_has_checked_in(
    tmp_path: Path, smtp, flushed_by: str  # noqa: F811
):
    """A reminder saying "no check-in yet" must not go out after the check-in came, whichever run
    next delivers the queue (the next remind, or the digest)."""
    controller, inbox = smtp
    config = project(tmp_path, f"""[digest]
to = ["leadership@acme.example"]
from = "OKR bot <okrs@acme.example>"
smtp_host = "127.0.0.1"
smtp_port = {free_port()}
security = "none"
timeout = 5
retries = 1
""")
    sync(tmp_path, "2026-11-24", "r.json")
    assert remind(tmp_path).returncode == 1  # SMTP down: both reminders wait in the outbox
    pending = tmp_path / "outbox" / "pending"
    assert len(list(pending.glob("*reminder*.eml"))) == 2
    type_checkins(tmp_path / TRACKER, {"O2-KR1": {"Confidence": "At risk", "Comment": "slow month"}})
    sync(tmp_path, "2026-11-26", "s.json")  # Bo's one key result is checked in; support-lead's are not
    set_port(config, controller.port)
    if flushed_by == "remind":
        proc = remind(tmp_path)
    else:
        proc = run_cli("digest", "--config", "config.toml", "--as-of", FRIDAY, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dropped the queued 2026-W48 reminder for bo@acme.example: every key result it named has a check-in" \
        " now" in proc.stdout
    reminded = [rcpt for _, rcpt, _ in inbox.received if "leadership@acme.example" not in rcpt]
    assert reminded == [["support-lead@acme.example"]]
    assert not list(pending.glob("*.eml"))
    assert "for reminder " not in proc.stdout  # ana's reminder, not the reminder's reminder


def test_the_scheduler_runs_the_reminder_job(tmp_path: Path):
    config = load_config(project(tmp_path))
    ran = []

    def reminders(c):
        ran.append(c)
        return DigestOutcome("2026-W48")

    lines: list[str] = []
    scheduler = Scheduler(config, sync_job=lambda c: pytest.fail("no sync"), remind_job=reminders, emit=lines.append)
    assert [s.text for s in scheduler.specs["remind"]] == ["friday 15:00"]
    run = scheduler.run_job("remind", "test")
    assert ran == [config] and run is not None and run.ok and "job=remind outcome=ok" in lines[-1]
    (tmp_path / "plain").mkdir()
    plain = load_config(copy_example(tmp_path / "plain"))
    assert "remind" not in Scheduler(plain, emit=lambda line: None).specs  # only when [schedule] remind is set
