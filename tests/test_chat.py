"""Slack and Teams: the week's summary posted per audience and channel to a loopback webhook
server that checks the documented payload shapes; outages, 429 with Retry-After, a deleted
webhook; once per week; escaping; Slack's limits met by summarising."""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from connectors.webhooks import Webhook, WebhookError, post
from sheetsync.config import load_config
from sheetsync.core.digest import build_digest
from sheetsync.core.model import ChatConfig, DigestConfig
from sheetsync.render import slack_message, teams_card
from sheetsync.runtime.jobs import run_digest
from sheetsync.runtime.pipeline import sync
from tests.helpers import copy_example, run_cli
from tests.test_digest import kpi, kr, objective, result
from tests.webhook_server import WebhookServer, slack_problems, teams_problems

AS_OF = date(2026, 11, 24)
CHANNELS = '''
[digest.slack]
webhook_env = "TEST_SLACK_ALL"

[digest.msteams]
webhook_env = "TEST_TEAMS_ALL"

[digest.teams.Sales]
to = ["sales-leads@acme.example"]

[digest.teams.Sales.slack]
webhook_env = "TEST_SLACK_SALES"
'''


@pytest.fixture()
def server():
    with WebhookServer() as running:
        yield running


@pytest.fixture()
def project(tmp_path: Path, server: WebhookServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = copy_example(tmp_path)
    text = config.read_text().replace('outbox = "outbox"', 'outbox = "outbox"\nretry_wait = 0.05\nretries = 3', 1)
    config.write_text(text + CHANNELS)
    monkeypatch.setenv("TEST_SLACK_ALL", server.url("/slack/all"))
    monkeypatch.setenv("TEST_TEAMS_ALL", server.url("/teams/all"))
    monkeypatch.setenv("TEST_SLACK_SALES", server.url("/slack/sales"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return config


def digest(config_path: Path, **options):
    config = load_config(config_path)
    return run_digest(config, AS_OF, result=sync(config, AS_OF), **options)


def test_run_posts_each_audience_and_channel_once_a_week_in_the_documented_shapes(project, server) -> None:
    hooks = {"TEST_SLACK_ALL": "/slack/all", "TEST_TEAMS_ALL": "/teams/all", "TEST_SLACK_SALES": "/slack/sales"}
    proc = run_cli("run", "--config", str(project), "--as-of", AS_OF.isoformat(), cwd=project.parent,
                   env={name: server.url(path) for name, path in hooks.items()})
    assert proc.returncode == 0, proc.stderr
    assert [r.path for r in server.requests] == ["/slack/all", "/teams/all", "/slack/sales"]
    assert all(not r.problems for r in server.requests), [r.problems for r in server.requests]
    assert "posted the 2026-W48 Slack summary for all" in proc.stdout
    assert "posted the 2026-W48 Microsoft Teams summary for Sales" not in proc.stdout
    assert "127.0.0.1:" not in proc.stdout + proc.stderr  # the webhook URL is a secret

    slack = server.to("/slack/all")[0].body
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                             "text": "Acme OKRs · 2026-Q4 · week 48"}}
    texts = json.dumps(slack["blocks"], ensure_ascii=False)
    assert "Overall progress: 56%" in texts and "*Needs attention*" in texts
    assert "O2-KR3" in texts and "Reduce monthly churn from 5% to 3%" in texts
    sales = json.dumps(server.to("/slack/sales")[0].body, ensure_ascii=False)
    assert "Acme OKRs · Sales" in sales and "Grow revenue" in sales and "Enhance customer experience" not in sales
    card = server.to("/teams/all")[0].body["attachments"][0]["content"]
    assert card["version"] == "1.4" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["inlines"][0]["text"] == "Acme OKRs · 2026-Q4 · week 48"
    shown = ["".join(r["text"] for r in e["inlines"]) for e in card["body"] if e["type"] == "RichTextBlock"]
    assert any(line.startswith("O2 Grow revenue: ") for line in shown), shown  # Teams adds no space between runs
    assert any(line.startswith("Off track Reduce monthly churn") for line in shown), shown

    again = run_cli("run", "--config", str(project), "--as-of", AS_OF.isoformat(), cwd=project.parent,
                    env={name: server.url(path) for name, path in hooks.items()})
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == 3  # once per ISO week, audience and channel
    assert "the 2026-W48 Slack summary for all was already posted" in again.stdout


def test_an_outage_is_retried_kept_pending_and_posted_by_the_next_run(project, server) -> None:
    server.script("/slack/all", 503, 503, 503)
    outcome = digest(project)
    assert outcome.exit_code == 1
    assert len(server.to("/slack/all")) == 3  # retries = 3, with backoff
    gaps = [b.at - a.at for a, b in zip(server.to("/slack/all"), server.to("/slack/all")[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.5 and gaps[0] >= 0.05  # 0.05 s, then doubled
    failed = [d for d in outcome.failures if d.channel == "slack"]
    assert len(failed) == 1
    message = failed[0].describe()
    assert "Slack webhook $TEST_SLACK_ALL: answered 503 service_unavailable after 3 attempts" in message
    queued = project.parent / "outbox" / "pending" / "2026-W48-all.slack.json"
    assert failed[0].path == queued
    record = json.loads(queued.read_text())
    assert record["webhook_env"] == "TEST_SLACK_ALL" and "127.0.0.1" not in queued.read_text()
    assert [r.path for r in server.requests if r.path != "/slack/all"] == ["/teams/all", "/slack/sales"]

    later = digest(project)  # the service is back
    assert later.exit_code == 0
    assert [d.action for d in later.deliveries if d.channel == "slack" and d.audience == "all"] == ["delivered_pending"]
    assert len(server.to("/slack/all")) == 4 and not server.to("/slack/all")[-1].problems
    assert not queued.exists() and (project.parent / "outbox" / "sent" / queued.name).exists()
    assert len(server.to("/teams/all")) == 1  # already posted: not again
    assert digest(project).exit_code == 0 and len(server.requests) == 6


def test_429_waits_what_retry_after_asks_and_a_long_wait_is_left_for_the_next_run(project, server) -> None:
    server.script("/slack/all", (429, {"Retry-After": "1"}, b"rate_limited"))
    assert digest(project).exit_code == 0
    first, second = server.to("/slack/all")
    assert second.at - first.at >= 1.0  # Retry-After honoured, not our 0.05 s

    server.script("/teams/all", (429, {"Retry-After": "3600"}, b"Too Many Requests"))
    outcome = digest(project, force=True)
    assert outcome.exit_code == 1
    assert len(server.to("/teams/all")) == 2  # one for the first run, one now: no waiting an hour, no storm
    (failed,) = outcome.failures
    assert "answered 429 Too Many Requests (it asked to wait 3600s)" in failed.describe()


def test_a_retry_after_given_as_an_http_date_is_honoured(project, server) -> None:
    in_an_hour = email.utils.formatdate(time.time() + 3600, usegmt=True)
    server.script("/slack/all", (429, {"Retry-After": in_an_hour}, b"rate_limited"))
    outcome = digest(project)
    assert len(server.to("/slack/all")) == 1  # an hour away: left for the next run, not retried in 0.05 s
    assert any("it asked to wait 3600s" in f.describe() or "it asked to wait 3599s" in f.describe()
               for f in outcome.failures), [f.describe() for f in outcome.failures]


def test_a_deleted_webhook_fails_at_once_with_a_clear_message(project, server) -> None:
    server.script("/slack/sales", 404)
    outcome = digest(project)
    assert len(server.to("/slack/sales")) == 1  # no retry storm
    (failed,) = outcome.failures
    assert failed.describe().startswith(
        "the 2026-W48 Slack summary for Sales was not posted: Slack webhook $TEST_SLACK_SALES: answered 404 "
        "no_service: the webhook was deleted or its channel archived; make a new one and put its URL in "
        "$TEST_SLACK_SALES"
    )
    assert outcome.exit_code == 1


def test_a_missing_variable_keeps_the_post_pending_and_names_the_variable(project, server, monkeypatch) -> None:
    monkeypatch.delenv("TEST_TEAMS_ALL")
    outcome = digest(project)
    (failed,) = outcome.failures
    assert "Microsoft Teams webhook: environment variable TEST_TEAMS_ALL is not set" in failed.describe()
    assert not server.to("/teams/all")


def test_dry_run_posts_nothing(project, server) -> None:
    outcome = digest(project, dry_run=True)
    assert not server.requests
    assert {d.action for d in outcome.deliveries if d.channel != "email"} == {"would_send"}


def big_content():
    objectives = []
    for o in range(120):
        krs = [kr(f"O{o}-KR{k}", f"O{o}", 5, "off_track", title="x" * 400) for k in range(5)]
        objectives.append(objective(f"O{o}", krs, title="An objective with a long title " * 8))
    return build_digest(result(objectives, [kpi(f"k{i}", 0.5, "off_track") for i in range(300)]), None,
                        DigestConfig(), tracker_url="https://docs.google.com/spreadsheets/d/abc/edit")


def test_slack_limits_are_met_by_summarising() -> None:
    payload = slack_message.digest_payload(big_content())
    assert slack_problems(payload) == []
    text = json.dumps(payload, ensure_ascii=False)
    assert "… and " in text and "more objectives" in text
    assert payload["blocks"][-1]["elements"][0]["url"] == "https://docs.google.com/spreadsheets/d/abc/edit"
    many = [{"type": "divider"}] * 80 + [payload["blocks"][-1]]
    fitted = slack_message.fit_blocks(many)
    assert len(fitted) == 50 and fitted[-1] == payload["blocks"][-1]
    card = teams_card.digest_payload(big_content())
    assert teams_problems(card, len(json.dumps(card).encode())) == []


def test_a_long_list_of_objectives_keeps_those_behind_in_the_post() -> None:
    """Thirty objectives, the last two off track: a post cut to its size lists them, not the first on track."""
    objectives = [objective(f"O{o}", [kr(f"O{o}-KR1", f"O{o}", 90, "on_track")], title="On course " * 12)
                  for o in range(1, 29)]  # fmt: skip
    objectives += [replace(objective(f"O{o}", [kr(f"O{o}-KR1", f"O{o}", 5, "off_track")], title="Behind " * 12),
                           status="off_track") for o in (29, 30)]  # fmt: skip
    content = build_digest(result(objectives), None, DigestConfig())
    slack = json.dumps(slack_message.digest_payload(content))
    teams = json.dumps(teams_card.digest_payload(content))
    for text, listed in ((slack, "*O29*"), (teams, '"text": "O29 "')):
        assert "more objectives" in text  # the list was cut
        assert listed in text and listed.replace("29", "30") in text


def test_text_from_sheets_is_escaped_for_each_medium() -> None:
    hostile = "<!channel> <http://evil.example|click> & *bold* {{DATE(2017-02-14T06:00:00Z)}} [x](http://evil)"
    content = build_digest(result([objective("O1", [kr("O1-KR1", "O1", 10, "off_track", title=hostile)],
                                                title=hostile)]), None, DigestConfig(),
                           tracker_url="javascript:alert(1)")
    slack = json.dumps(slack_message.digest_payload(content), ensure_ascii=False)
    assert "<!channel>" not in slack and "<http://evil" not in slack
    # The top-level text (the notification, read as mrkdwn too) comes from the project's name.
    named = slack_message.digest_payload(replace(content, subject=f"{hostile} OKRs · week 48"))
    assert named["text"].startswith("&lt;!channel&gt; &lt;http://evil.example|click&gt; &amp;")
    alert = slack_message.alert_payload("<!channel> Acme & <Co>", [])
    assert alert["text"].startswith("&lt;!channel&gt; Acme &amp; &lt;Co&gt;")
    assert "&lt;!channel&gt; &lt;http://evil.example|click&gt; &amp;" in slack
    assert '"actions"' not in slack  # only http(s) links become a button
    card = teams_card.digest_payload(content)
    runs = [r["text"] for e in card["attachments"][0]["content"]["body"] if e["type"] == "RichTextBlock"
            for r in e["inlines"]]
    assert any("<!channel> <http://evil.example|click> & *bold*" in r and "[x](http://evil)" in r for r in runs)
    assert not any("{{DATE" in r for r in runs)  # no template for the client to expand
    assert "actions" not in card["attachments"][0]["content"]
    texts = [e["text"] for e in card["attachments"][0]["content"]["body"] if e["type"] == "TextBlock"]
    assert not any("evil" in t for t in texts)  # sheet text never reaches a Markdown TextBlock


def test_the_poster_retries_network_failures_and_never_shows_the_url() -> None:
    hook = Webhook("slack", "HOOK", "http://127.0.0.1:9/secret-token", retries=2, retry_wait=0.0)
    waits: list[float] = []
    with pytest.raises(WebhookError) as info:
        post(hook, {"text": "x"}, sleep=waits.append)
    assert str(info.value) == "Slack webhook $HOOK: connection refused after 2 attempts"
    assert waits == [0.0] and "secret-token" not in repr(hook)


@pytest.mark.parametrize(("toml", "message"), [
    ('[digest.slack]\nwebhook = "https://hooks.slack.com/services/T/B/x"\n',
     "digest.slack.webhook: webhook URLs are secrets and do not belong in config"),
    ('[digest.slack]\nwebhook_env = "https://hooks.slack.com/x"\n',
     "digest.slack.webhook_env: '[redacted webhook]' is not an environment variable name"),  # never echoed
    ("[digest.msteams]\n", "digest.msteams.webhook_env"),
    ('[digest.teams.Sales.slack]\nwebhook_env = "A"\nchannel = "#x"\n', "digest.teams.Sales.slack"),
])
def test_chat_config_mistakes_are_one_line_errors(tmp_path: Path, toml: str, message: str) -> None:
    config = copy_example(tmp_path)
    config.write_text(config.read_text() + "\n" + toml)
    proc = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_team_channel_without_objectives_is_skipped(project, server) -> None:
    project.write_text(project.read_text() + '\n[digest.teams.Nobody.msteams]\nwebhook_env = "TEST_TEAMS_ALL"\n')
    outcome = digest(project)
    skipped = [d for d in outcome.deliveries if d.action == "skipped" and d.channel == "msteams"]
    assert [d.describe() for d in skipped] == [
        "no 2026-W48 Microsoft Teams summary for Nobody: no objective has team = 'Nobody' (digest.teams.Nobody)"]
    assert outcome.exit_code == 0


def test_chat_config_is_typed(project) -> None:
    config = load_config(project)
    assert config.digest.slack == ChatConfig("slack", "TEST_SLACK_ALL")
    assert replace(config.digest.teams[0]).slack == ChatConfig("slack", "TEST_SLACK_SALES")


def test_a_team_with_only_a_chat_channel_gets_its_post_and_no_email(project, server) -> None:
    text = project.read_text().replace('to = ["sales-leads@acme.example"]\n', "")
    smtp = 'outbox = "outbox"\nsmtp_host = "127.0.0.1"\nsmtp_port = 1'  # nothing listens: an email would fail
    project.write_text(text.replace('outbox = "outbox"', smtp, 1))
    outcome = digest(project)
    sales = {d.channel: d for d in outcome.deliveries if d.audience == "Sales"}
    assert sales["email"].action == "skipped" and "no to or cc" in (sales["email"].error or "")
    assert sales["slack"].action == "sent" and len(server.to("/slack/sales")) == 1
    assert not any(d.error and "every recipient was refused" in d.error for d in outcome.deliveries)
