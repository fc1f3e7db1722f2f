"""Credential files for the fake Google backend, importable without pytest (the benchmark uses them).

They look like real files and their ``token_uri`` points at the fake, so the code under test
runs google-auth's genuine JWT-bearer (or refresh-token) flow with no network.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .server import FakeGoogle

SERVICE_ACCOUNT_EMAIL = "sheetsync-test@fake-project.iam.gserviceaccount.com"


@functools.cache
def _rsa_key() -> rsa.RSAPrivateKey:
    """One 2048-bit key per test process: generating one costs ~0.1 s."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_service_account(
    path: str | os.PathLike[str], server: FakeGoogle, *, email: str = SERVICE_ACCOUNT_EMAIL
) -> Path:
    """Write a service-account JSON trusted by ``server`` (its public key registered there)."""
    key = _rsa_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    server.register_service_account(email, key.public_key())
    info = {
        "type": "service_account",
        "project_id": "fake-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": "".join(secrets.choice("0123456789") for _ in range(21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": server.token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    target = Path(path)
    target.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


def write_authorized_user(
    path: str | os.PathLike[str], server: FakeGoogle, *, email: str = "someone@example.com"
) -> Path:
    """Write an OAuth authorized-user JSON whose refresh token ``server`` accepts."""
    client_id = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
    client_secret = secrets.token_urlsafe(18)
    refresh_token = "1//" + secrets.token_urlsafe(30)
    server.register_authorized_user(client_id, client_secret, refresh_token, email)
    info = {
        "type": "authorized_user",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "token_uri": server.token_uri,
    }
    target = Path(path)
    target.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target
