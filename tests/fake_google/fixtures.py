"""Pytest fixtures for the fake Google backend (the credential helpers live in `credentials`).

Import the fixtures into a test module or conftest with
``from tests.fake_google.fixtures import fake_google  # noqa: F401``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .credentials import SERVICE_ACCOUNT_EMAIL, write_authorized_user, write_service_account
from .server import FakeGoogle

__all__ = [
    "SERVICE_ACCOUNT_EMAIL",
    "FakeTime",
    "fake_google",
    "service_account_file",
    "write_authorized_user",
    "write_service_account",
]


def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy configured in the environment must not intercept calls to 127.0.0.1."""
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        hosts = [h for h in current.split(",") if h]
        for host in ("127.0.0.1", "localhost"):
            if host not in hosts:
                hosts.append(host)
        monkeypatch.setenv(name, ",".join(hosts))


@pytest.fixture
def fake_google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A started FakeGoogle on an ephemeral loopback port, stopped after the test."""
    _no_proxy_for_loopback(monkeypatch)
    with FakeGoogle() as server:
        yield server


@pytest.fixture
def service_account_file(fake_google: FakeGoogle, tmp_path: Path) -> Path:
    """A service-account JSON trusted by ``fake_google``."""
    return write_service_account(tmp_path / "service-account.json", fake_google)


class FakeTime:
    """A clock + sleep pair for retry policies: sleeping records the wait and moves both
    our clock and the fake's quota clock, so a 429 storm costs no real time."""

    def __init__(self, fake: FakeGoogle | None = None) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.fake = fake

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        if self.fake is not None:
            self.fake.advance_clock(seconds)
