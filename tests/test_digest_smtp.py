"""The digest through a real SMTP server (aiosmtpd on 127.0.0.1) and the real CLI.

What the server received is parsed with the stdlib email parser and checked against the
results JSON of the same run: structure, inline images, headers, numbers, the
once-per-week rule, and what an outage (refused, timed out, bad password) leaves behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sheetsync.core import display
from tests.helpers import ROOT, copy_example, run_cli

AS_OF = "2026-11-24"
LAST_WEEK = "2026-11-17"
TO = "leadership@acme.example"
CC = "okr-office@acme.example"
SALES = "sales-leads@acme.example"
PASSWORD_ENV = "SHEETSYNC_TEST_SMTP_PASSWORD"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(raw) for _, _, raw in self.received]


class LoopbackController(Controller):
    """aiosmtpd's Controller on an OS-chosen free port (port=0).

    The stock controller probes `self.port` to see the server is up, which for port 0 is
    nowhere; read the real port from the bound socket first.
    """

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Authenticator:
    def __init__(self, password: str) -> None:
        self.password = password.encode()
        self.sessions: set[int] = set()  # smtplib tries each mechanism (PLAIN, LOGIN) in one session

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.sessions.add(id(session))
        given = (auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword) else None
        ok = given == (b"okr-bot", self.password)
        return AuthResult(success=ok, handled=False)


def start_server(**kwargs: Any) -> tuple[LoopbackController, Inbox]:
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp() -> Iterator[tuple[LoopbackController, Inbox]]:
    controller, inbox = start_server()
    yield controller, inbox
    controller.stop()


def free_port() -> int:
    """A port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project(tmp_path: Path, port: int, extra: str = "") -> Path:
    """The example project with its [digest] pointed at 127.0.0.1:port, plain SMTP, quick retries."""
    config = copy_example(tmp_path)
    text = config.read_text(encoding="utf-8")
    digest = f"""[digest]
to = ["{TO}"]
cc = ["OKR office <{CC}>"]
from = "OKR bot <okrs@acme.example>"
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "none"
timeout = 5
retries = 2
retry_wait = 0.05
tracker_url = "https://docs.google.com/spreadsheets/d/1AbC/edit"
attach_tracker = true
{extra}
[digest.teams.Sales]
to = ["{SALES}"]

"""
    start, end = text.index("[digest]"), text.index("[schedule]")
    config.write_text(text[:start] + digest + text[end:], encoding="utf-8")
    return config


def set_port(config: Path, port: int) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"smtp_port = \d+", f"smtp_port = {port}", text), encoding="utf-8")


def digest(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    proc = run_cli("digest", "--config", "config.toml", "--as-of", AS_OF, *args, cwd=cwd, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def errors(proc: Any) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def sent_weeks(cwd: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(cwd / ".sheetsync" / "history.sqlite") as db:
        return db.execute("SELECT week, audience FROM digests ORDER BY audience").fetchall()


def parts(message: EmailMessage) -> tuple[str, str, dict[str, bytes], list[EmailMessage]]:
    """(text, html, images by Content-ID, attachments) of a digest, asserting its MIME shape."""
    body = message
    attachments: list[EmailMessage] = []
    if message.get_content_type() == "multipart/mixed":
        body, *attachments = message.get_payload()
    assert body.get_content_type() == "multipart/alternative"
    text_part, related = body.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *inline = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    images = {}
    for image in inline:
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        images[image["Content-ID"].strip().strip("<>")] = image.get_content()
    return text_part.get_content(), html_part.get_content(), images, attachments


# --- delivery and content -----------------------------------------------------------------------


def test_the_weekly_run_emails_the_digest_with_the_numbers_of_the_sync(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    project(tmp_path, controller.port)
    last_week = run_cli("sync", "--config", "config.toml", "--as-of", LAST_WEEK, "--json", "prev.json", cwd=tmp_path)
    assert last_week.returncode == 0, last_week.stderr
    proc = run_cli("run", "--config", "config.toml", "--as-of", AS_OF, "--json", "results.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"sent the 2026-W48 digest for all to {TO}" in proc.stdout

    assert len(inbox.received) == 2  # everyone's, and the Sales team's
    everyone, sales = sorted(inbox.received, key=lambda r: SALES in r[1])
    assert everyone[0] == "okrs@acme.example" and sorted(everyone[1]) == sorted([TO, CC])
    assert sales[1] == [SALES]
    msg, team_msg = (BytesParser(policy=policy.default).parsebytes(r[2]) for r in (everyone, sales))

    # Headers.
    assert msg["Subject"] == "Acme OKRs · 2026-Q4 · week 48"
    assert msg["From"].addresses[0].display_name == "OKR bot"
    assert [a.addr_spec for a in msg["To"].addresses] == [TO]
    assert [a.addr_spec for a in msg["Cc"].addresses] == [CC]
    assert msg["Bcc"] is None
    assert re.fullmatch(r"<[^@\s]+@acme\.example>", msg["Message-ID"])
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["X-Sheetsync-Week"] == "2026-W48" and msg["Auto-Submitted"] == "auto-generated"
    assert team_msg["Subject"] == "Acme OKRs · 2026-Q4 · week 48 · Sales"

    # Structure: text + HTML with every cid: resolved to an inline PNG, the tracker attached.
    text, html, images, attachments = parts(msg)
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert cids and set(cids) == set(images)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 30_000 for png in images.values())
    assert "http" not in re.sub(r'href="https://docs\.google\.com[^"]*"', "", html).replace("http-equiv", "")
    assert [a.get_filename() for a in attachments] == ["okr_tracker.xlsx"]
    assert attachments[0].get_content().startswith(b"PK")  # a zip: the .xlsx itself
    assert 'href="https://docs.google.com/spreadsheets/d/1AbC/edit"' in html
    assert "Tracker: https://docs.google.com/spreadsheets/d/1AbC/edit" in text

    # Numbers: the same as the results JSON of this run, in both parts.
    results = json.loads((tmp_path / "results.json").read_text())
    previous = json.loads((tmp_path / "prev.json").read_text())
    units = {k["id"]: k["unit"] for k in results["kpis"]}
    expected = results["period"]["expected"]
    assert f"{expected * 100:.0f}% of the period elapsed" in text
    top = [o["progress"] for o in results["objectives"] if not o["parent"]]
    assert f"overall progress {sum(top) / len(top) * 100:.0f}%" in text
    assert "60%" in html and "of the period elapsed" in html
    before = {k["id"]: k for o in previous["objectives"] for k in o["key_results"]}
    for objective in results["objectives"]:
        assert f"{objective['id']} {objective['title']}: {objective['progress'] * 100:.0f}%" in text
        for kr in objective["key_results"]:
            unit = units[kr["kpi"]]
            line = f"{display.value(kr['current'], unit)} of {display.value(kr['target'], unit)}"
            assert line in text, line
            assert display.value(kr["current"], unit) in html
            change = kr["progress"] - before[kr["id"]]["progress"]  # progress points, as in the tracker
            assert kr["change"] == pytest.approx(change), kr["id"]
            assert f"{display.points(change)} this week" in text, kr["id"]
    for kpi in results["kpis"]:
        assert f"{kpi['title']} [" in text
        assert display.value(kpi["value"], kpi["unit"]) in text
    assert "since 2026-W47" in text
    csat = next(k for k in results["kpis"] if k["id"] == "csat")
    assert f"{csat['value'] * 100:.1f}%" in text  # e.g. 86.6%: a percentage KPI reads as one

    # The team's digest has its own objectives only.
    team_text, *_ = parts(team_msg)
    assert "O2 Grow revenue" in team_text and "Enhance customer experience" not in team_text

    assert sent_weeks(tmp_path) == [("2026-W48", "Sales"), ("2026-W48", "all")]
    assert sorted(p.name for p in (tmp_path / "outbox" / "sent").iterdir()) == [
        "2026-W48-Sales.eml", "2026-W48-all.eml"
    ]


def test_a_digest_goes_out_once_per_week_unless_forced(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    project(tmp_path, controller.port)
    first = digest(tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(inbox.received) == 2
    again = digest(tmp_path)
    assert again.returncode == 0
    assert "the 2026-W48 digest for all was already sent; --force sends it again" in again.stdout
    assert len(inbox.received) == 2  # nothing new
    next_day = run_cli("digest", "--config", "config.toml", "--as-of", "2026-11-26", cwd=tmp_path)
    assert next_day.returncode == 0 and "already sent" in next_day.stdout  # same ISO week
    forced = digest(tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(inbox.received) == 4
    ids = {m["Message-ID"] for m in inbox.messages()}
    assert len(ids) == 4  # a forced re-send is a new message


def test_a_dry_run_renders_but_sends_and_writes_nothing(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    project(tmp_path, controller.port)
    proc = digest(tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"would send the 2026-W48 digest for all to {TO}, OKR office <{CC}>: 'Acme OKRs" in proc.stdout
    assert "would send the 2026-W48 digest for Sales" in proc.stdout
    assert inbox.received == []
    assert not (tmp_path / "outbox").exists() and not (tmp_path / ".sheetsync").exists()


def test_without_smtp_host_the_digest_is_an_eml_in_the_outbox(tmp_path: Path) -> None:
    copy_example(tmp_path)  # the shipped example has no smtp_host
    proc = digest(tmp_path)
    assert proc.returncode == 0, proc.stderr
    eml = tmp_path / "outbox" / "2026-W48-all.eml"
    assert f"wrote the 2026-W48 digest for all to {eml}" in proc.stdout
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    text, html, images, _ = parts(message)
    assert set(re.findall(r'src="cid:([^"]+)"', html)) == set(images)
    assert "Acme OKRs" in text
    again = digest(tmp_path)
    assert "already sent" in again.stdout  # writing the .eml is the delivery
    before = eml.read_bytes()
    assert digest(tmp_path, "--force").returncode == 0
    assert eml.read_bytes() != before


# --- outages ----------------------------------------------------------------------------------


def test_a_refused_connection_keeps_the_digest_pending_until_a_later_run_sends_it(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    dead = free_port()
    config = project(tmp_path, dead)
    down = digest(tmp_path)
    assert down.returncode == 1
    lines = errors(down)
    assert len(lines) == 2  # one line per digest, nothing else
    assert lines[0] == (
        f"error: the 2026-W48 digest for all was not delivered: SMTP 127.0.0.1:{dead}: connection refused "
        "(is the SMTP server running, and is the port right?) after 2 attempts; "
        f"kept in {tmp_path / 'outbox' / 'pending' / '2026-W48-all.eml'} for the next run"
    )
    pending = tmp_path / "outbox" / "pending" / "2026-W48-all.eml"
    queued_id = BytesParser(policy=policy.default).parsebytes(pending.read_bytes())["Message-ID"]
    assert not (tmp_path / "outbox" / "sent").exists()
    assert sent_weeks(tmp_path) == []

    set_port(config, controller.port)  # the server is back
    up = digest(tmp_path)
    assert up.returncode == 0, up.stderr
    assert "sent the queued 2026-W48 digest for all" in up.stdout
    assert {m["Message-ID"] for m in inbox.messages()} >= {queued_id}  # the very message that waited
    assert len(inbox.received) == 2
    assert list((tmp_path / "outbox" / "pending").iterdir()) == []
    assert sent_weeks(tmp_path) == [("2026-W48", "Sales"), ("2026-W48", "all")]
    assert "already sent" in digest(tmp_path).stdout and len(inbox.received) == 2


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        project(tmp_path, port)
        text = (tmp_path / "config.toml").read_text().replace("timeout = 5", "timeout = 0.5")
        (tmp_path / "config.toml").write_text(text)
        proc = digest(tmp_path)
    assert proc.returncode == 1
    assert f"SMTP 127.0.0.1:{port}: timed out waiting for a reply after 2 attempts" in errors(proc)[0]
    assert (tmp_path / "outbox" / "pending" / "2026-W48-all.eml").exists()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_rejected_password_is_not_retried_and_never_shown(tmp_path: Path) -> None:
    auth = Authenticator("right-pw")
    controller, inbox = start_server(authenticator=auth, auth_required=True, auth_require_tls=False)
    try:
        project(tmp_path, controller.port, extra=f'username = "okr-bot"\npassword_env = "{PASSWORD_ENV}"')
        wrong = digest(tmp_path, env={PASSWORD_ENV: "wrong-pw"})
        assert wrong.returncode == 1
        line = errors(wrong)[0]
        assert f"SMTP 127.0.0.1:{controller.port}: authentication failed (535" in line
        assert "attempts" not in line and len(auth.sessions) == 1  # one try: retrying cannot fix a password
        assert "wrong-pw" not in wrong.stdout + wrong.stderr
        assert inbox.received == []
        missing = digest(tmp_path)
        assert missing.returncode == 1
        assert f"environment variable {PASSWORD_ENV} (digest.password_env) is not set" in errors(missing)[0]

        right = digest(tmp_path, env={PASSWORD_ENV: "right-pw"})
        assert right.returncode == 0, right.stderr
        assert "sent the queued 2026-W48 digest for all" in right.stdout
        assert len(inbox.received) == 2
    finally:
        controller.stop()


# --- STARTTLS -----------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, or skip where it is missing)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_starttls_delivers_only_to_a_server_whose_certificate_is_trusted(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller, inbox = start_server(tls_context=context, require_starttls=True)
    try:
        work = tmp_path / "project"
        work.mkdir()
        config = project(work, controller.port)
        config.write_text(config.read_text().replace('security = "none"', 'security = "starttls"'))
        untrusted = digest(work)
        assert untrusted.returncode == 1
        assert "the server's TLS certificate is not trusted (self-signed certificate)" in errors(untrusted)[0]
        assert "attempts" not in errors(untrusted)[0]  # not retried: it would fail the same way
        assert inbox.received == []

        trusted = digest(work, env={"SSL_CERT_FILE": str(cert)})
        assert trusted.returncode == 0, trusted.stderr
        assert len(inbox.received) == 2
    finally:
        controller.stop()


# --- concurrency, stale queues, stale data -----------------------------------------------------


def test_two_runs_at_once_send_the_week_once(tmp_path: Path, smtp: tuple[LoopbackController, Inbox]) -> None:
    controller, inbox = smtp
    project(tmp_path, controller.port)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1"}
    args = [sys.executable, "-m", "sheetsync", "digest", "--config", "config.toml", "--as-of", AS_OF]
    runs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(inbox.received) == 2  # everyone's and Sales': once, not twice
    assert sum("already sent" in out for out, _ in outputs) == 1


def test_a_digest_still_pending_from_last_week_is_superseded_not_sent_late(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    config = project(tmp_path, free_port())
    assert digest(tmp_path).returncode == 1  # 2026-W48 queued
    set_port(config, controller.port)
    next_week = run_cli("digest", "--config", "config.toml", "--as-of", "2026-12-01", cwd=tmp_path)
    assert next_week.returncode == 0, next_week.stderr
    assert "dropped the queued 2026-W48 digest for all: a newer week replaces it" in next_week.stdout
    assert {m["X-Sheetsync-Week"] for m in inbox.messages()} == {"2026-W49"}
    assert (tmp_path / "outbox" / "superseded" / "2026-W48-all.eml").exists()
    assert list((tmp_path / "outbox" / "pending").iterdir()) == []


def test_the_digest_says_which_numbers_are_stale_and_run_reports_the_worse_exit_code(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    config = project(tmp_path, controller.port)
    (tmp_path / "data" / "web.csv").unlink()  # sessions and the conversion rate lose their data
    stale = run_cli("run", "--config", "config.toml", "--as-of", AS_OF, cwd=tmp_path)
    assert stale.returncode == 3, stale.stderr  # finished; some numbers stale
    text, html, _, _ = parts(next(m for m in inbox.messages() if m["X-Sheetsync-Audience"] == "all"))
    assert "SOME NUMBERS ARE STALE" in text and "Some numbers are stale." in html
    assert "Web sessions and Conversion rate: could not be refreshed, and there is no earlier value to show." in text
    assert "[No data] Lift conversion rate from 2% to 3% (O2-KR2): its data could not be read this week" in text
    assert "web.csv" not in text and "web.csv" not in html  # file paths and errors are for ops

    set_port(config, free_port())
    down = run_cli("run", "--config", "config.toml", "--as-of", AS_OF, "--force", cwd=tmp_path)
    assert down.returncode == 1  # a digest that did not go out outranks stale numbers


class RefusingInbox(Inbox):
    """Accepts every recipient but one, as a server refuses an unknown mailbox."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address == CC:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def digest_once(tmp_path: Path, controller: LoopbackController) -> Any:
    """The example project's digest, run once against `controller` (started and stopped here)."""
    controller.start()
    try:
        return digest(project(tmp_path, controller.port).parent)
    finally:
        controller.stop()


def test_a_refused_recipient_is_not_reported_as_sent(tmp_path: Path) -> None:
    inbox = RefusingInbox()
    proc = digest_once(tmp_path, LoopbackController(inbox, hostname="127.0.0.1", port=0))
    assert [rcpts for _, rcpts, _ in inbox.received] == [[TO], [SALES]]
    assert f"sent the 2026-W48 digest for all to {TO}" in proc.stdout
    assert f"the server refused {CC} (550 5.1.1 no such user)" in proc.stdout
    assert f"OKR office <{CC}>" not in proc.stdout  # not among those it went to


def test_a_queued_digest_goes_to_the_addresses_fixed_since(tmp_path: Path) -> None:
    inbox = RefusingInbox()  # refuses CC, here also the digest's To (a typo): the digest fails
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        config = project(tmp_path, controller.port)
        config.write_text(config.read_text().replace(f'to = ["{TO}"]', f'to = ["{CC}"]', 1))
        first = digest(tmp_path)
        assert first.returncode == 1, first.stderr  # refused: kept in the outbox
        assert (tmp_path / "outbox" / "pending" / "2026-W48-all.eml").exists()
        config.write_text(config.read_text().replace(f'to = ["{CC}"]', f'to = ["{TO}"]', 1))  # fixed
        second = digest(tmp_path)
    finally:
        controller.stop()
    assert second.returncode == 0, second.stderr
    assert "its recipients changed in the config since it was queued: made again" in second.stdout
    assert [rcpts for _, rcpts, _ in inbox.received] == [[SALES], [TO]]
    assert list((tmp_path / "outbox" / "pending").iterdir()) == []
    assert sent_weeks(tmp_path) == [("2026-W48", "Sales"), ("2026-W48", "all")]


def test_a_backfill_does_not_send_an_older_weeks_digest_late(tmp_path: Path) -> None:
    copy_example(tmp_path)
    newer = run_cli("digest", "--as-of", "2026-12-01", cwd=tmp_path)
    assert newer.returncode in (0, 3), newer.stderr
    older = run_cli("digest", "--as-of", "2026-11-24", cwd=tmp_path)
    assert "the 2026-W49 digest went out already; an older week's is not sent late" in older.stdout
    assert sorted(p.name for p in (tmp_path / "outbox").glob("*.eml")) == ["2026-W49-all.eml"]
    forced = run_cli("digest", "--as-of", "2026-11-24", "--force", cwd=tmp_path)
    assert (tmp_path / "outbox" / "2026-W48-all.eml").exists(), forced.stdout + forced.stderr


class RudeGoodbyeController(LoopbackController):
    """Accepts the message, then answers QUIT with 421 and hangs up, as a server shutting down does."""

    def factory(self) -> Any:
        from aiosmtpd.smtp import SMTP

        class Rude(SMTP):
            async def smtp_QUIT(self, arg: str) -> None:
                await self.push("421 4.3.0 closing")
                self.transport.close()

        return Rude(self.handler, **self.SMTP_kwargs)


def test_a_digest_the_server_accepted_is_sent_once_however_it_answers_quit(tmp_path: Path) -> None:
    inbox = Inbox()
    proc = digest_once(tmp_path, RudeGoodbyeController(inbox, hostname="127.0.0.1", port=0))
    assert proc.returncode == 0, proc.stderr
    assert len(inbox.received) == 2  # To and Cc in one message, and the sales team's: each once
    assert not list((tmp_path / "outbox" / "pending").glob("*.eml"))
    assert sorted(sent_weeks(tmp_path)) == [("2026-W48", "Sales"), ("2026-W48", "all")]


def test_a_queued_digest_delivered_but_not_filed_in_sent_is_never_delivered_again(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    controller, inbox = smtp
    config = project(tmp_path, free_port())
    assert digest(tmp_path).returncode == 1  # the server is down: both digests wait in outbox/pending
    (tmp_path / "outbox" / "sent").write_text("not a folder")  # filing them after delivery will fail
    set_port(config, controller.port)
    up = digest(tmp_path)
    assert up.returncode == 1 and "cannot move to" in up.stderr
    assert "it was delivered, and is kept as 2026-W48-all.eml.delivered so it is not sent again" in up.stderr
    assert len(inbox.received) == 2
    for _ in range(2):
        again = digest(tmp_path)
        assert len(inbox.received) == 2, again.stdout
        assert "the 2026-W48 digest for all was already sent" in again.stdout
    # Left queued anyway (a run stopped between delivering and filing): the history says it went out.
    (tmp_path / "outbox" / "pending" / "2026-W48-all.eml.delivered").rename(
        tmp_path / "outbox" / "pending" / "2026-W48-all.eml")
    again = digest(tmp_path)
    assert len(inbox.received) == 2
    assert "dropped the queued 2026-W48 digest for all: the history records it as delivered already" in again.stdout


def test_a_digest_sent_while_the_history_cannot_record_it_is_not_sent_again(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history locked by a backup when the server accepted the digest: the copy in sent/ remembers."""
    from sheetsync.config import load_config
    from sheetsync.runtime.history import History, HistoryError
    from sheetsync.runtime.jobs import run_digest

    controller, inbox = smtp
    config = load_config(project(tmp_path, controller.port))

    def locked(self: History, *args: Any) -> None:
        raise HistoryError(f"{self.path}: history database error: database is locked", self.path)

    with monkeypatch.context() as patch:
        patch.setattr(History, "mark_digest_sent", locked)
        first = run_digest(config, date.fromisoformat(AS_OF))
    assert len(inbox.received) == 2 and first.exit_code == 1
    line = next(d.describe() for d in first.deliveries if d.audience == "all")
    assert "the history could not record it" in line and "keeps later runs from sending it again" in line
    again = run_digest(config, date.fromisoformat(AS_OF))
    assert len(inbox.received) == 2 and again.exit_code == 0
    assert {d.action for d in again.deliveries} == {"already_sent"}


def test_a_file_in_the_queue_that_is_no_queued_message_is_moved_aside_once(
    tmp_path: Path, smtp: tuple[LoopbackController, Inbox]
) -> None:
    """An empty or foreign file in pending/: it was sent as 'the  digest for ', failed, and held every run at exit 1."""
    controller, inbox = smtp
    project(tmp_path, controller.port)
    pending = tmp_path / "outbox" / "pending"
    pending.mkdir(parents=True)
    (pending / "notes.eml").write_bytes(b"")
    (pending / "digest-x.json").write_text("{not json", encoding="utf-8")
    proc = digest(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(inbox.received) == 2  # this week's digests, nothing else
    unreadable = tmp_path / "outbox" / "unreadable"
    assert sorted(p.name for p in unreadable.iterdir()) == ["digest-x.json", "notes.eml"]
    assert (f"moved {unreadable / 'notes.eml'} out of the queue: not a message sheetsync queued "
            "(no X-Sheetsync-Week and X-Sheetsync-Audience headers)") in proc.stdout
    assert f"moved {unreadable / 'digest-x.json'} out of the queue: not a post sheetsync queued" in proc.stdout
    assert not list(pending.iterdir())
