"""Secrets never leak: one full `sheetsync run` with a Google service account and SMTP login,
then every output is searched for the password, the private key and the access tokens.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.google_client import warn_if_readable_by_others
from tests.fake_google import fixtures
from tests.helpers import copy_example, run_cli
from tests.test_digest_smtp import Authenticator, start_server

fake_google = fixtures.fake_google
PASSWORD = "s3cr3t-Pa55word-XYZ"


def everything_written(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, with .xlsx workbooks opened up into their XML parts."""
    out: dict[str, bytes] = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        out[str(path)] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    out[f"{path}!{member}"] = archive.read(member)
    return out


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_no_output_contains_a_password_key_or_token(tmp_path, fake_google):
    start = date(2026, 10, 1)
    key = fake_google.add_spreadsheet(
        "Web analytics",
        {"Traffic": [["Date", "Sessions"]] + [[start + timedelta(days=i), 2000 + i] for i in range(60)]},
    )
    project = tmp_path / "project"
    project.mkdir()
    credentials = fixtures.write_service_account(tmp_path / "sa.json", fake_google)
    os.chmod(credentials, 0o644)  # readable by others: sheetsync must say so
    private_key = json.loads(credentials.read_text())["private_key"]
    key_lines = [line for line in private_key.splitlines() if line and "PRIVATE KEY" not in line]

    controller, _inbox = start_server(authenticator=Authenticator("right-pw"), auth_required=True,
                                      auth_require_tls=False)
    try:
        config = copy_example(project)
        text = config.read_text()
        text = text.replace('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
                            f'[sources.web]\ntype = "gsheet"\nspreadsheet = "{key}"\nworksheet = "Traffic"')
        text = text.replace("[digest]\n", f'''[google]
credentials = "{credentials}"
api_url = "{fake_google.url}"

[digest]
smtp_host = "127.0.0.1"
smtp_port = {controller.port}
security = "none"
username = "okr-bot"
password_env = "SHEETSYNC_SECRET_PW"
retries = 1
retry_wait = 0.01
''')
        config.write_text(text)
        proc = run_cli("-v", "run", "--as-of", "2026-11-24", "--json", "results.json", cwd=project,
                       env={"SHEETSYNC_SECRET_PW": PASSWORD})
    finally:
        controller.stop()

    assert proc.returncode == 1, proc.stderr  # the digest could not log in
    assert "authentication failed" in proc.stderr
    assert f"Google credentials file {credentials} is readable by other users" in proc.stderr
    results = json.loads((project / "results.json").read_text())
    assert {s["name"]: s["status"] for s in results["sources"]}["web"] == "ok"  # the sheet was really read
    tokens = fake_google.issued_tokens
    assert tokens, "the run should have fetched an access token"
    secrets = [PASSWORD, *tokens, *key_lines]
    outputs = {"stdout": proc.stdout.encode(), "stderr": proc.stderr.encode(), **everything_written(project)}
    assert any(name.endswith(".eml") for name in outputs), "the undelivered digest should be kept"
    for name, data in outputs.items():
        for secret in secrets:
            assert secret.encode() not in data, f"{name} contains a secret"


def test_private_credentials_get_no_warning(tmp_path, caplog):
    path = tmp_path / "sa.json"
    path.write_text("{}")
    os.chmod(path, 0o600)
    assert warn_if_readable_by_others(path) is False
    os.chmod(path, 0o640)
    assert warn_if_readable_by_others(path) is True
    assert "chmod 600" in caplog.text


def test_spreadsheet_urls_and_long_paths_stay_readable_while_key_material_is_redacted():
    import base64

    from sheetsync.core.display import redact

    key = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"  # a real-looking 44-character spreadsheet key
    for text in (f"source 'sales' (https://docs.google.com/spreadsheets/d/{key}, sheet 'Orders'): not found",
                 f"GET https://sheets.googleapis.com/v4/spreadsheets/{key}/values:batchGet",
                 "source 'eu' (/home/analytics/Shared/Finance/Reports/Quarterly/Regional/Europe/2026/sales.xlsx)"):
        assert redact(text) == text
    body = base64.b64encode(bytes(range(7, 250, 5))).decode()  # a PEM body's line, without its header
    assert redact(f"cannot parse credentials near {body!r}") == "cannot parse credentials near '[redacted]'"
    assert redact(f"assertion eyJhbGciOiJSUzI1NiJ9.{body}") == "assertion eyJhbGciOiJSUzI1NiJ9.[redacted]"
    assert redact(f"key id {'3f' * 20}") == "key id [redacted]"
