"""The digest's content and rendering: highlights, attention, changes, teams, escaping, headers."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

import pytest

from connectors import smtp_mailer
from connectors.smtp_mailer import DeliveryError, SMTPSettings
from sheetsync.config import load_config
from sheetsync.core import display
from sheetsync.core.digest import build_digest, window_label
from sheetsync.core.key_results import KeyResultResult
from sheetsync.core.kpis import KPIResult, SeriesPoint
from sheetsync.core.model import DigestConfig
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import parse_period
from sheetsync.core.results import SourceResult, SyncResult
from sheetsync.errors import ConfigError
from sheetsync.render.email_message import bar_segments, build_message, parse_address, render
from sheetsync.runtime.history import History
from sheetsync.runtime.pipeline import sync
from tests.helpers import ROOT

AS_OF = date(2026, 11, 24)  # Tuesday of ISO week 48
PERIOD = parse_period("2026-Q4")
EXPECTED = PERIOD.expected(AS_OF)


def kr(kr_id: str, objective: str, current: float | None, status: str, *, title: str | None = None,
       start: float = 0.0, target: float = 100.0, stale: str | None = None, kpi: str = "k1") -> KeyResultResult:
    progress = None if current is None else min(max((current - start) / (target - start), 0), 1)
    raw = None if current is None else (current - start) / (target - start)
    return KeyResultResult(
        id=kr_id, title=title or f"KR {kr_id}", kpi=kpi, objective=objective, owner="", start=start, target=target,
        current=current, progress=progress, progress_raw=raw, expected=EXPECTED, status=status, weight=1.0,
        direction="increase", stale=stale,
    )


def objective(obj_id: str, krs: list[KeyResultResult], *, team: str = "", title: str | None = None) -> ObjectiveResult:
    values = [k.progress for k in krs if k.progress is not None]
    progress = sum(values) / len(values) if values else None
    return ObjectiveResult(obj_id, title or f"Objective {obj_id}", "", team, "", progress,
                           "on_track" if progress is not None else "no_data", tuple(krs), EXPECTED)


def kpi(kpi_id: str, value: float | None, status: str, *, title: str | None = None, target: float | None = 0.9,
        source: str = "s1", stale: str | None = None, unit: str = "%") -> KPIResult:
    weeks = [AS_OF - timedelta(days=7 * n + 1) for n in range(4, 0, -1)]
    series = tuple(SeriesPoint(f"w{i}", d - timedelta(days=6), d, 0.8 + i / 100, True) for i, d in enumerate(weeks))
    return KPIResult(kpi_id, title or kpi_id, unit, "increase", target, 0.85, value, 0.8, status,
                     AS_OF - timedelta(days=8), AS_OF - timedelta(days=2), series, source, stale)


def result(objectives: list[ObjectiveResult], kpis: list[KPIResult] | None = None,
           sources: list[SourceResult] | None = None, *, project: str = "Acme",
           warnings: tuple[str, ...] = ()) -> SyncResult:
    return SyncResult(
        project=project, as_of=AS_OF, period=PERIOD, expected=EXPECTED, kpis=tuple(kpis or []),
        objectives=tuple(objectives), sources=tuple(sources or [ok_source("s1")]), warnings=warnings,
    )


def ok_source(name: str, warnings: tuple[str, ...] = ()) -> SourceResult:
    return SourceResult(name, "csv", f"{name}.csv", None, 10, datetime.now(UTC),
                        "warning" if warnings else "ok", warnings)


def history_with(tmp_path: Path, previous: SyncResult) -> History:
    history = History(tmp_path / "history.sqlite")
    history.record(replace(previous, as_of=AS_OF - timedelta(days=7)))
    return history


# --- content --------------------------------------------------------------------------------


def test_highlights_are_krs_that_reached_done_or_moved_up(tmp_path: Path) -> None:
    before = result([objective("O1", [
        kr("A", "O1", 40, "at_risk"), kr("B", "O1", 90, "on_track"), kr("C", "O1", 70, "on_track"),
        kr("D", "O1", 10, "off_track"), kr("E", "O1", 100, "done"),
    ])])
    now = result([objective("O1", [
        kr("A", "O1", 55, "on_track"), kr("B", "O1", 100, "done"), kr("C", "O1", 45, "at_risk"),
        kr("D", "O1", None, "no_data"), kr("E", "O1", 100, "done"),
    ])])
    with history_with(tmp_path, before) as history:
        content = build_digest(now, history.previous(AS_OF), DigestConfig())
    assert [(h.kr_id, h.previous_status, h.status) for h in content.highlights] == [
        ("B", "on_track", "done"), ("A", "at_risk", "on_track"),
    ]
    assert content.highlights[0].reason == "reached its target"
    assert content.highlights[1].reason == "moved up from at risk to on track"
    attention = {(i.kind, i.ref) for i in content.needs_attention}
    assert ("at_risk", "C") in attention and ("no_data", "D") in attention
    slipped = next(i for i in content.needs_attention if i.ref == "C")
    assert "(was on track)" in slipped.detail


def test_first_digest_celebrates_krs_already_done() -> None:
    now = result([objective("O1", [kr("A", "O1", 100, "done"), kr("B", "O1", 20, "off_track")])])
    content = build_digest(now, None, DigestConfig())
    assert [h.kr_id for h in content.highlights] == ["A"]
    assert content.previous_week is None and content.overall_change is None


def test_changes_since_last_week_come_from_the_previous_snapshot(tmp_path: Path) -> None:
    before = result([objective("O1", [kr("A", "O1", 40, "at_risk"), kr("B", "O1", 30, "off_track")])])
    now = result([objective("O1", [kr("A", "O1", 52.5, "on_track"), kr("B", "O1", 30, "off_track"),
                                   kr("N", "O1", 10, "off_track")])])
    with history_with(tmp_path, before) as history:
        previous = history.previous(AS_OF)
        content = build_digest(now, previous, DigestConfig())
    assert content.previous_week == "2026-W47"
    lines = {line.id: line for line in content.objectives[0].key_results}
    assert lines["A"].value_change == pytest.approx(12.5)
    assert lines["A"].progress_change == pytest.approx(0.125)
    assert lines["A"].change_tone == "good" and lines["A"].status_moved == 1
    assert lines["B"].value_change == 0 and lines["B"].change_tone == "flat"
    assert lines["N"].previous_status is None and lines["N"].value_change is None  # new this week
    # Like with like: A and B, measured both weeks; N, new this week, does not move the objective.
    assert content.objectives[0].progress_change == pytest.approx((0.525 + 0.3) / 2 - 0.35)
    assert content.overall_change == pytest.approx((0.525 + 0.3) / 2 - 0.35)
    rendered = render(content)
    assert "+12 pts this week" in rendered.text  # KR changes are progress points, as in the tracker
    assert "since 2026-W47" in rendered.text


def test_needs_attention_lists_krs_kpis_sources_and_missing_data() -> None:
    error = "source 's2': cannot read s2.csv: file not found"
    now = result(
        [objective("O1", [
            kr("A", "O1", 10, "off_track"), kr("B", "O1", 40, "at_risk"), kr("C", "O1", 80, "on_track"),
            kr("D", "O1", None, "no_data", stale=error, kpi="k2"),
        ])],
        [kpi("k1", 0.8, "off_track"), kpi("k3", 0.95, "on_track"),
         kpi("k2", None, "no_data", source="s2", stale=error)],
        [ok_source("s1", ("source 's1', column 'x', row 4: 'abc' is not a number (skipped)",)),
         SourceResult("s2", "csv", "s2.csv", None, 0, None, "failed", (), error)],
        warnings=("kpis.k1.formula: division by zero for 2026-11-16..2026-11-22; the value is left empty",),
    )
    content = build_digest(now, None, DigestConfig())
    kinds = [(i.kind, i.ref) for i in content.needs_attention]
    # Source failures, cell warnings and formula warnings are for ops, not the stakeholders' email.
    assert kinds == [("off_track", "A"), ("at_risk", "B"), ("kpi", "k1"), ("no_data", "D")]
    assert next(i for i in content.needs_attention if i.ref == "D").detail == "its data could not be read this week"
    assert content.stale_notes == ("k2: could not be refreshed, and there is no earlier value to show.",)
    rendered = render(content)
    for part in (rendered.text, rendered.html):
        assert "SOME NUMBERS ARE STALE" in part or "Some numbers are stale." in part
        assert "s2.csv" not in part and "is not a number" not in part and "division by zero" not in part


def _all_clear_everywhere(content) -> list[str]:
    """The empty attention list's sentence as the email (text, HTML), Slack and Teams show it."""
    from sheetsync.render import slack_message, teams_card

    rendered = render(content)
    return [rendered.text, rendered.html, json.dumps(slack_message.digest_payload(content), ensure_ascii=False),
            json.dumps(teams_card.digest_payload(content), ensure_ascii=False)]


def test_nothing_needs_attention_says_so_only_when_every_number_is_fresh() -> None:
    clean = build_digest(result([objective("O1", [kr("A", "O1", 80, "on_track")])], [kpi("k1", 0.95, "on_track")]),
                         None, DigestConfig())
    assert clean.needs_attention == ()
    assert clean.all_clear == "Nothing: every key result is on track; every number is up to date."
    assert all(clean.all_clear in part for part in _all_clear_everywhere(clean))


def test_nothing_needs_attention_does_not_deny_a_stale_banner() -> None:
    error = "source 's1': cannot read s1.csv: file not found"
    carried = replace(kpi("k1", 0.95, "on_track", stale=error), carried=True, failed=True,
                      value_as_of=AS_OF - timedelta(days=7))
    now = result([objective("O1", [kr("A", "O1", 80, "on_track", stale=error)])], [carried],
                 [SourceResult("s1", "csv", "s1.csv", None, 0, None, "failed", (), error)])
    content = build_digest(now, None, DigestConfig())
    assert content.needs_attention == () and content.stale_notes
    assert content.all_clear == "Nothing: every key result is on track; the numbers that are old are named above."
    for part in _all_clear_everywhere(content):
        assert "read cleanly" not in part and "up to date" not in part


def test_a_close_out_with_missed_key_results_does_not_call_them_on_track() -> None:
    closed = replace(result([objective("O1", [kr("A", "O1", 100, "done"), kr("B", "O1", 20, "missed")])],
                            [kpi("k1", 0.95, "on_track")]), as_of=PERIOD.end + timedelta(days=3))
    content = build_digest(closed, None, DigestConfig())
    assert content.closed and content.needs_attention == ()
    assert content.all_clear.startswith("Nothing open: the period is over, and what it missed is in the close-out")
    for part in _all_clear_everywhere(content):
        assert "every key result is on track" not in part
    missed_only = replace(closed, objectives=(objective("O1", [kr("B", "O1", 20, "missed")]),))
    quiet = build_digest(missed_only, None, DigestConfig())
    assert quiet.highlights == () and quiet.no_highlights == "No key result reached its target in 2026-Q4."
    rendered = render(quiet)
    assert quiet.no_highlights in rendered.text and quiet.no_highlights in rendered.html
    assert "from next week" not in rendered.text


def test_team_digest_has_only_that_teams_objectives_and_kpis() -> None:
    config = load_config(ROOT / "config.toml")
    full = sync(config, AS_OF)
    content = build_digest(full, None, config.digest, team="sales")  # team names match ignoring case
    assert [o.id for o in content.objectives] == ["O2"]
    assert {k.id for k in content.kpis} == {"revenue", "conversion_rate", "churn_rate"}
    assert content.subject.endswith(" · sales")
    assert all(i.ref in {"O2-KR1", "O2-KR2", "O2-KR3", "revenue", "conversion_rate", "churn_rate", "sales"}
               for i in content.needs_attention if i.ref)
    sales = next(o for o in full.objectives if o.id == "O2")
    assert content.overall_progress == pytest.approx(sales.progress)
    everyone = build_digest(full, None, config.digest)
    assert [o.id for o in everyone.objectives] == ["O1", "O2", "O3"]
    assert everyone.overall_progress == pytest.approx(full.overall_progress)


def test_subject_template_fills_every_placeholder() -> None:
    template = "{project}|{period}|{week}|{iso_week}|{as_of}|{team}|{progress}|{elapsed}"
    now = result([objective("O1", [kr("A", "O1", 50, "on_track")], team="Support")])
    content = build_digest(now, None, DigestConfig(subject=template), team="Support")
    assert content.subject == f"Acme|2026-Q4|48|2026-W48|2026-11-24|Support|50%|{EXPECTED * 100:.0f}%"
    assert build_digest(now, None, DigestConfig()).subject == "Acme OKRs · 2026-Q4 · week 48"


@pytest.mark.parametrize(
    ("subject", "message"),
    [("{project} {quarter}", "unknown placeholder {quarter}"), ("{project", "bad template"),
     ("", "digest.subject: is empty"), (" \\n ", "digest.subject: is empty")],
)
def test_a_bad_subject_template_fails_when_the_config_loads(tmp_path: Path, subject: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[project]\nperiod = "2026-Q4"\n[digest]\nsubject = "{subject}"\n')
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ('username = "bot"', "digest.username: needs password_env"),
        ('password = "hunter2"', "passwords do not belong in config"),
        ('smtp_host = "mail.example"', "digest.to: is required when smtp_host is set"),
        ('retries = 0', "digest.retries: must be at least 1"),
        ('to = ["ana@acme.example", "jösé@acme.example"]', "digest.to: 'jösé@acme.example' has non-ASCII letters"),
        ('smtp_host = "mail.example"\nto = ["a@acme.example"]\n[digest.teams.Sales]\ncc = []',
         "digest.teams.Sales.to: is required when smtp_host is set"),
    ],
)
def test_digest_config_mistakes_are_one_line_errors(tmp_path: Path, digest: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[project]\nperiod = "2026-Q4"\n[digest]\n{digest}\n')
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_config(path)
    assert "hunter2" not in str(info.value)


def test_a_subject_that_is_not_text_is_named_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[project]\nperiod = "2026-Q4"\n[digest]\nsubject = 5\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).count("digest.subject") == 1, str(info.value)


# --- escaping and headers ---------------------------------------------------------------------

NASTY = '<script>alert("x")</script> & "quoted" <b>bold</b>'


class _Elements(HTMLParser):
    """Elements, attributes and text as a browser would see them (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: dict[str, list[str]] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.setdefault(name, []).append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_titles_from_config_and_sheets_are_escaped_in_html_and_plain_in_text() -> None:
    error = 'the filter Kind == "<img src=x onerror=alert(1)>" matched none of the 3 rows dated 16–22 Nov 2026'
    missing = replace(kr("B", "O1", None, "no_data", title=NASTY), note=error)
    now = result(
        [objective("O1", [kr("A", "O1", 10, "off_track", title=NASTY), missing], title=NASTY, team=NASTY)],
        [kpi("k1", 0.5, "off_track", title=NASTY)],
        project=NASTY,
    )
    content = build_digest(now, None, DigestConfig(), tracker_url='javascript:alert("x")')
    rendered = render(content)
    parsed = _Elements()
    parsed.feed(rendered.html)
    assert "script" not in parsed.tags and "b" not in parsed.tags  # no element came from the data
    assert "onerror" not in parsed.attrs
    text = "".join(parsed.text)
    assert text.count(NASTY) >= 5 and error in text  # shown as the literal characters
    assert f"{NASTY} trend" in parsed.attrs["alt"]  # quotes in an attribute did not end it
    assert "javascript:" not in rendered.html  # only http(s) tracker links become a button
    assert NASTY in rendered.text and error in rendered.text  # the text part is not HTML: shown as is
    assert "\n" not in content.subject


def test_newlines_in_names_cannot_inject_headers() -> None:
    now = result([objective("O1", [kr("A", "O1", 10, "off_track")], team="Sales\r\nBcc: team@evil.example")],
                 project="Acme\r\nBcc: evil@evil.example\r\n\r\n<html>")
    content = build_digest(now, None, DigestConfig(subject="{project} {team}\nX-Injected: yes"),
                           team="Sales\r\nBcc: team@evil.example")
    message = build_message(
        render(content), sender='"OKR bot" <okrs@acme.example>',
        to=["Lead <lead@acme.example>"], cc=["cc@acme.example"],
        week=content.week, audience=content.audience, date=datetime.now(UTC),
    )
    raw = message.as_bytes(policy=policy.SMTP)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^(Bcc|X-Injected):", head, flags=re.MULTILINE | re.IGNORECASE)
    assert all(part["Bcc"] is None and part["X-Injected"] is None for part in parsed.walk())
    assert parsed["Subject"] == "Acme Bcc: evil@evil.example <html> Sales Bcc: team@evil.example X-Injected: yes"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lead@acme.example"]
    assert parsed["From"].addresses[0].addr_spec == "okrs@acme.example"
    assert parsed["X-Sheetsync-Audience"] == "Sales Bcc: team@evil.example"
    with pytest.raises(ValueError, match="line break"):
        build_message(render(content), sender='"OKR\r\nBcc: x@evil.example" <okrs@acme.example>', to=[],
                      week=content.week, audience="all", date=datetime.now(UTC))


@pytest.mark.parametrize(
    "value", ["Lead\nBcc: to@evil.example <lead@acme.example>", "a@acme.example, b@acme.example", "nobody"]
)
def test_a_recipient_must_be_exactly_one_address(value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not one email address"):
        parse_address(value)
    path = tmp_path / "config.toml"
    path.write_text(f'[project]\nperiod = "2026-Q4"\n[digest]\nto = [{json.dumps(value)}]\n')
    with pytest.raises(ConfigError, match=r"digest\.to: .* is not one email address"):
        load_config(path)


def test_the_message_is_text_and_html_with_inline_charts() -> None:
    config = load_config(ROOT / "config.toml")
    content = build_digest(sync(config, AS_OF), None, config.digest)
    rendered = render(content)
    message = build_message(rendered, sender=config.digest.sender, to=config.digest.to, week=content.week,
                            audience="all", date=datetime.now(UTC))
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    text_part, related = parsed.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    cids = {img["Content-ID"].strip("<>") for img in images}
    assert set(re.findall(r'src="cid:([^"]+)"', html_part.get_content())) == cids
    assert all(img.get_content_type() == "image/png" and len(img.get_content()) < 30_000 for img in images)
    assert 'style="' in html_part.get_content() and "<style>" in html_part.get_content()  # inlined; @media kept
    assert re.search(r"@media", html_part.get_content())


# --- formatting and bars ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.8734, "%", "87.3%"), (0.0041, "%", "0.41%"), (338937.2, "$", "$338,937"), (-12.5, "$", "-$12.5"),
     (3.3236, "min", "3.32 min"), (4345.0, "", "4,345"), (None, "%", "—"), (2.0, "", "2"),
     (0.0004, "", "0.0004"), (0.00046, "", "0.00046"), (-0.0004, "$", "-$0.0004"), (0.000004, "%", "0.0004%")],
)
def test_values_read_naturally(value: float | None, unit: str, text: str) -> None:
    assert display.value(value, unit) == text


@pytest.mark.parametrize(
    ("delta", "unit", "text"),
    [(0.0124, "%", "+1.24 pts"), (-0.0059, "%", "-0.59 pts"), (0.0, "%", "±0 pts"), (42293.4, "$", "+$42,293"),
     (-0.14, "min", "-0.14 min"), (0.0, "", "±0"), (None, "", "—"), (-0.0002, "", "-0.0002")],
)
def test_changes_are_signed(delta: float | None, unit: str, text: str) -> None:
    assert display.change(delta, unit) == text


@pytest.mark.parametrize(("share", "text"), [(0.598, "60%"), (0.996, "99%"), (1.0, "100%"), (1.2, "120%"),
                                            (0.0, "0%"), (None, "—")])  # fmt: skip
def test_a_share_short_of_one_never_reads_100_percent(share: float | None, text: str) -> None:
    assert display.percent(share) == text


def test_one_line_removes_every_kind_of_line_break() -> None:
    assert display.one_line("a\r\nb\u2028c\x00d\te") == "a b c d e"
    assert len(display.one_line("x" * 500)) == 250


@pytest.mark.parametrize(
    ("progress", "expected", "cells"),
    [
        (0.66, 0.6, [("fill-s", 60, ""), ("fill-s", 6, "left"), ("bar-rest", 34, "")]),
        (0.3, 0.6, [("fill-s", 30, ""), ("bar-rest", 30, ""), ("bar-rest", 40, "left")]),
        (None, 0.6, [("bar-rest", 60, ""), ("bar-rest", 40, "left")]),
        (0.5, 1.0, [("fill-s", 50, ""), ("bar-rest", 50, "right")]),
        (1.0, 1.0, [("fill-s", 100, "right")]),
    ],
)
def test_progress_bars_mark_the_expected_pace(progress: float | None, expected: float, cells: list) -> None:
    assert bar_segments(progress, expected, "s") == cells
    assert sum(size for _, size, _ in cells) == 100


def test_window_labels() -> None:
    assert window_label(date(2026, 10, 1), date(2026, 11, 24), PERIOD) == "2026-Q4 to date"
    assert window_label(date(2026, 10, 1), date(2026, 10, 31), PERIOD) == "Oct 2026"
    assert window_label(date(2026, 11, 16), date(2026, 11, 22), PERIOD) == "16 – 22 Nov"
    assert window_label(date(2026, 10, 26), date(2026, 11, 1), PERIOD) == "26 Oct – 1 Nov"


# --- SMTP retry policy (no network: the attempt is injected) -----------------------------------


def _settings(**kw: object) -> SMTPSettings:
    base = {"host": "mail.example", "port": 587, "password": "s3cret-pw", "username": "bot",
            "retries": 3, "retry_wait": 2.0}
    return SMTPSettings(**{**base, **kw})  # type: ignore[arg-type]


def test_transient_failures_are_retried_with_a_doubling_wait() -> None:
    waits: list[float] = []
    calls = iter([ConnectionRefusedError(), TimeoutError(), {}])

    def attempt(_message: object, _settings: SMTPSettings) -> dict:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert smtp_mailer.send(None, _settings(), sleep=waits.append, attempt=attempt) == {}  # type: ignore[arg-type]
    assert waits == [2.0, 4.0]


def test_giving_up_is_one_line_naming_the_server_and_never_the_password() -> None:
    import smtplib

    waits: list[float] = []

    def refused(*_: object) -> dict:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(DeliveryError) as info:
        smtp_mailer.send(None, _settings(), sleep=waits.append, attempt=refused)  # type: ignore[arg-type]
    assert str(info.value).startswith("SMTP mail.example:587: connection refused")
    assert "after 3 attempts" in str(info.value) and waits == [2.0, 4.0]

    def auth(*_: object) -> dict:
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")

    waits.clear()
    with pytest.raises(DeliveryError) as info:
        smtp_mailer.send(None, _settings(), sleep=waits.append, attempt=auth)  # type: ignore[arg-type]
    assert waits == []  # an auth failure is not retried
    assert str(info.value) == (
        "SMTP mail.example:587: authentication failed (535 5.7.8 Authentication credentials invalid)"
    )
    assert "s3cret-pw" not in str(info.value) and "s3cret-pw" not in repr(_settings())
    assert "\n" not in str(info.value)


def test_a_missing_password_variable_is_named() -> None:
    config = DigestConfig(to=("a@b.example",), smtp_host="mail.example", username="bot", password_env="NOPE_PW")
    with pytest.raises(DeliveryError, match="environment variable NOPE_PW"):
        SMTPSettings.from_config(config, environ={})
    assert SMTPSettings.from_config(config, environ={"NOPE_PW": "pw"}).port == 587


def test_trend_charts_are_capped_and_attention_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """An organisation-wide digest draws at most MAX_TREND_CHARTS trends, off-track KPIs first."""
    from sheetsync.render import email_message

    monkeypatch.setattr(email_message, "MAX_TREND_CHARTS", 3)
    drawn: list[str] = []

    def sparkline(values: list[float], **options: object) -> bytes:
        drawn.append(str(options["status"]))
        return b"png"

    monkeypatch.setattr("sheetsync.render.charts.sparkline", sparkline)
    statuses = [("a", "on_track"), ("b", "off_track"), ("c", "no_target"), ("d", "at_risk"), ("e", "off_track")]
    content = build_digest(result([], [kpi(k, 0.8, status) for k, status in statuses]), None, DigestConfig())
    images = email_message.render_charts(content)
    assert [i.name for i in images] == ["kpi-b", "kpi-e", "kpi-d"]
    assert drawn == ["off_track", "off_track", "at_risk"]


# --- bounded at any organisation size -------------------------------------------------------


def big_organisation(objectives: int = 1_000, per_objective: int = 10, failed_sources: int = 30) -> SyncResult:
    """10,000 key results by default: 1,000 objectives of 10, every status, one KPI each."""
    statuses = ["on_track", "done", "at_risk", "on_track", "off_track"]
    blocks = []
    for o in range(objectives):
        krs = [kr(f"KR{o}-{k}", f"O{o}", 10.0 * (k + 1), statuses[(o + k) % 5], kpi=f"k{o}",
                  title=f"Key result {k} of objective {o}") for k in range(per_objective)]  # fmt: skip
        blocks.append(objective(f"O{o}", krs, title=f"Objective number {o} of the organisation"))
    blocks[-1] = replace(blocks[-1], status="off_track")  # the last in config order needs a look
    kpis = [kpi(f"k{o}", 0.8, ["on_track", "at_risk", "off_track", "no_target"][o % 4]) for o in range(objectives)]
    failed = [SourceResult(f"s{i}", "csv", f"s{i}.csv", None, 0, None, "failed", (), "gone")
              for i in range(failed_sources)]
    return result(blocks, kpis, [ok_source("s1"), *failed])


def test_the_digest_stays_bounded_with_10000_key_results() -> None:
    """Readable and a few hundred KB at any size: lists capped, what is left out counted."""
    from PIL import Image

    from sheetsync.core.digest import DigestLimits

    content = build_digest(big_organisation(), None, DigestConfig(), tracker_url="https://example.com/t")
    assert sum(len(o.key_results) for o in content.objectives) == 10_000  # the content itself is whole
    rendered = render(content)
    msg = build_message(rendered, sender="okrs@example.com", to=["team@example.com"], week=content.week,
                        audience="all", date=datetime(2026, 11, 24, 8, tzinfo=UTC))  # fmt: skip
    assert len(msg.as_bytes()) < 2_000_000
    limits = DigestLimits()
    html, text = rendered.html, rendered.text
    assert html.count('class="kr-title"') <= limits.key_results
    assert html.count('class="obj-title"') == limits.objectives
    assert html.count('class="kpi-name"') == limits.kpis
    overview = next(i for i in rendered.images if i.name == "overview")
    with Image.open(__import__("io").BytesIO(overview.png)) as image:
        assert image.height < 2 * (34 + 28 * limits.objectives) + 2  # 20 bars, not 1,000
    assert len(rendered.images) <= 1 + 40
    shown = limits.objectives
    for part in (html, text):
        assert f"and {1_000 - shown:,} more objectives in the tracker" in part
        assert f"and {1_000 - limits.kpis:,} more KPIs in the tracker" in part
        assert "more items that need attention in the tracker" in part
        assert "and 21 more" in part  # sources in the footer: 31, ten named
    # What needs a look comes first: the off-track objective last in the config is shown.
    assert "Objective number 999 of the organisation" in html
    assert "Key results: 2000 done, 4000 on track, 2000 at risk, 2000 off track" in text
    # The whole organisation is still counted.
    assert sum(content.status_counts.values()) == 10_000


def test_a_digest_within_the_limits_is_unchanged() -> None:
    from sheetsync.core.digest import bounded

    content = build_digest(big_organisation(objectives=3, per_objective=4, failed_sources=2), None, DigestConfig())
    assert bounded(content) is content
    assert not content.omitted


def test_bounding_keeps_what_needs_a_look_and_counts_the_rest() -> None:
    from sheetsync.core.digest import DigestLimits, bounded

    content = build_digest(big_organisation(objectives=5, per_objective=4), None, DigestConfig())
    small = bounded(content, DigestLimits(objectives=2, key_results=5, kpis=1, attention=2, highlights=1))
    assert [o.id for o in small.objectives] == ["O4", "O0"]  # the off-track one first, then config order
    assert sum(len(o.key_results) for o in small.objectives) == 5
    assert small.objectives[1].more_key_results == 3
    assert small.omitted.objectives == 3 and small.omitted.key_results == 20 - 5
    assert small.kpis[0].status == "off_track" and small.omitted.kpis == 4
    assert len(small.needs_attention) == 2 and small.omitted.attention == len(content.needs_attention) - 2
    first_krs = [kr.status for kr in small.objectives[0].key_results]
    assert first_krs[0] in ("off_track", "at_risk", "no_data")


def test_a_stale_note_names_a_few_and_counts_the_rest() -> None:
    kpis = [kpi(f"k{i}", None, "no_data", stale="gone", source="s9") for i in range(25)]
    failed = SourceResult("s9", "csv", "s9.csv", None, 0, None, "failed", (), "gone")
    content = build_digest(result([], kpis, [failed]), None, DigestConfig())
    (note,) = content.stale_notes  # one sentence for the numbers that are old the same way
    assert note == ("k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, and 15 more: could not be refreshed, "
                    "and there is no earlier value to show.")


def test_compiled_templates_are_kept_between_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run loads the compiled template; a changed template is compiled again; no cache, no failure."""
    import jinja2

    from sheetsync.render.template_cache import TemplateCache

    (tmp_path / "t.txt.j2").write_text("{{ n }} KPIs")
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()

    def env(directory: Path) -> jinja2.Environment:
        cache = TemplateCache(str(directory))
        return jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), bytecode_cache=cache)

    assert env(cache_dir).get_template("t.txt.j2").render(n=3) == "3 KPIs"
    assert len(list(cache_dir.iterdir())) == 1
    compiled = jinja2.Environment.compile
    calls: list[str | None] = []

    def compile_counted(self: jinja2.Environment, source: str, name: str | None = None, *args: object) -> object:
        calls.append(name)
        return compiled(self, source, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", compile_counted)
    assert env(cache_dir).get_template("t.txt.j2").render(n=4) == "4 KPIs"
    assert calls == []  # loaded, not compiled
    (tmp_path / "t.txt.j2").write_text("{{ n }} key results")
    assert env(cache_dir).get_template("t.txt.j2").render(n=5) == "5 key results"
    assert calls == ["t.txt.j2"]
    assert env(tmp_path / "missing").get_template("t.txt.j2").render(n=6) == "6 key results"  # nowhere to keep it
