"""Chat channels for the digest and the alerts: Slack and Microsoft Teams webhooks.

Each audience ("all" or a team) may have a Slack and a Teams channel (`[digest.slack]`,
`[digest.teams.NAME.msteams]`, ...). Like the email, the week's summary is posted once per
ISO week, audience and channel (recorded in the history's `chat_posts`). A post the
webhook did not take waits in `<outbox>/pending/` as a small JSON file holding the payload
and the *name* of the variable with the URL (never the URL), and the next run posts it
first; a newer week's summary supersedes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.atomic import atomic_write_bytes
from sheetsync.core.digest import ALL, DigestContent
from sheetsync.core.display import file_slug
from sheetsync.core.model import ChatConfig, DigestConfig
from sheetsync.runtime.outbox import Queue, UnreadableQueueFile

CHANNEL_NAMES = {"slack": "Slack", "msteams": "Microsoft Teams"}


@dataclass(frozen=True)
class ChatTarget:
    """One chat channel a digest is posted to, for everyone ("all") or one team."""

    audience: str  # "all" or the team name
    team: str | None
    chat: ChatConfig

    @property
    def channel(self) -> str:
        return self.chat.channel


def chat_targets(config: DigestConfig) -> list[ChatTarget]:
    """Every (audience, channel) the digest posts to: everyone's channels, then each team's."""
    out = [ChatTarget(ALL, None, chat) for chat in config.chats]
    out += [ChatTarget(team.team, team.team, chat) for team in config.teams for chat in team.chats]
    return out


def digest_payload(channel: str, content: DigestContent) -> dict[str, Any]:
    if channel == "slack":
        from sheetsync.render.slack_message import digest_payload as slack

        return slack(content)
    from sheetsync.render.teams_card import digest_payload as teams

    return teams(content)


def file_name(kind: str, week: str, audience: str, channel: str) -> str:
    """`2026-W48-all.slack.json`; alerts carry their own stamp instead of a week."""
    slug = file_slug(audience)
    prefix = "" if kind == "digest" else "alert-"
    return f"{prefix}{week}-{slug}.{channel}.json"


class ChatQueue(Queue):
    """Posts waiting for their webhook, as JSON files beside the queued emails."""

    def keep(self, kind: str, week: str, audience: str, chat: ChatConfig, payload: Mapping[str, Any],
             name: str | None = None) -> Path:
        path = self.pending_dir / (name or file_name(kind, week, audience, chat.channel))
        record = {"kind": kind, "week": week, "audience": audience, "channel": chat.channel,
                  "webhook_env": chat.webhook_env, "payload": payload}
        atomic_write_bytes(path, (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        return path

    def pending(self, kind: str | None = None) -> list[Path]:
        """Queued posts, oldest first."""
        if not self.pending_dir.is_dir():
            return []
        paths = sorted(self.pending_dir.glob("*.json"))
        if kind is None:
            return paths
        return [p for p in paths if p.name.startswith("alert-") == (kind == "alert")]

    def pending_for(self, week: str, audience: str, channel: str) -> Path | None:
        path = self.pending_dir / file_name("digest", week, audience, channel)
        return path if path.exists() else None

    @staticmethod
    def load(path: Path) -> tuple[dict[str, Any], ChatConfig]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            str(record["week"]), str(record["audience"]), dict(record["payload"])  # what its reader takes
            return record, ChatConfig(channel=record["channel"], webhook_env=record["webhook_env"])
        except (ValueError, KeyError, TypeError) as exc:  # JSON or text that is not ours, a file cut short
            raise UnreadableQueueFile(f"{path}: not a post sheetsync queued ({type(exc).__name__}: {exc})",
                                      file=str(path)) from None
