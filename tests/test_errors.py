"""One error root: every error class is a SheetsyncError with its exit code and where it happened."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import pkgutil
import socket
from pathlib import Path

import pandas as pd
import pytest

import connectors
import sheetsync
from connectors.atomic import OutputError, atomic_write_bytes
from connectors.base import SourceError, SourceNotFound
from connectors.csv_source import read_csv_source
from connectors.google_client import GoogleConfigError
from sheetsync.cli import user_errors
from sheetsync.config import load_config
from sheetsync.core.expressions import ExpressionError, FormulaValueError
from sheetsync.core.kpis import KPIDataError, prepare_kpi_rows
from sheetsync.core.model import KPIConfig, SourceConfig
from sheetsync.core.periods import PeriodError
from sheetsync.core.schedule_spec import ScheduleSpecError
from sheetsync.core.sources import ROW_COLUMN
from sheetsync.errors import ConfigError, ExitCode, SheetsyncError, exit_code_for, worst
from sheetsync.runtime.lock import LockBusy
from tests.fake_google import FakeGoogle, fixtures
from tests.helpers import copy_example

fake_google = fixtures.fake_google


def _error_classes() -> dict[type[BaseException], str]:
    """Every exception class defined anywhere in sheetsync/ and connectors/."""
    found: dict[type[BaseException], str] = {}
    for package in (sheetsync, connectors):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found[obj] = module.__name__
    return found


def test_every_error_class_has_the_one_root_and_an_exit_code() -> None:
    classes = _error_classes()
    assert len(classes) >= 20
    strays = [f"{module}.{cls.__name__}" for cls, module in classes.items() if not issubclass(cls, SheetsyncError)]
    assert strays == []
    for cls in classes:
        assert isinstance(cls.exit_code, ExitCode), cls  # type: ignore[attr-defined]
        assert cls.exit_code is not ExitCode.OK, cls  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (ConfigError, ExitCode.CONFIG),
        (GoogleConfigError, ExitCode.CONFIG),
        (ExpressionError, ExitCode.CONFIG),
        (PeriodError, ExitCode.CONFIG),
        (ScheduleSpecError, ExitCode.CONFIG),
        (SourceError, ExitCode.STALE),
        (KPIDataError, ExitCode.STALE),
        (FormulaValueError, ExitCode.STALE),
        (OutputError, ExitCode.FAILED),
        (LockBusy, ExitCode.BUSY),
    ],
)
def test_each_error_says_how_the_run_ends(cls: type[SheetsyncError], code: ExitCode) -> None:
    assert cls.exit_code is code
    assert int(code) == {"OK": 0, "FAILED": 1, "CONFIG": 2, "STALE": 3, "BUSY": 4}[code.name]


def test_a_config_error_names_its_file_and_key(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    path.write_text(path.read_text().replace('agg = "sum"', 'agg = "avg"', 1))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.file == "config.toml"
    assert raised.value.key is not None and raised.value.key.endswith(".agg")
    assert raised.value.where == {"file": "config.toml", "key": raised.value.key}
    assert str(raised.value).startswith(f"config.toml: {raised.value.key}: 'avg' is not one of")


def test_a_missing_config_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "nope.toml")
    assert raised.value.file == str(tmp_path / "nope.toml") and raised.value.key is None


def test_a_source_error_names_its_source_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.csv"
    with pytest.raises(SourceNotFound) as raised:
        read_csv_source(SourceConfig(name="sales", type="csv", path=str(missing)))
    assert (raised.value.source, raised.value.file) == ("sales", str(missing))
    assert exit_code_for(raised.value) is ExitCode.STALE


def test_a_kpi_data_error_names_its_key_and_source() -> None:
    frame = pd.DataFrame({"Amount": ["1"], ROW_COLUMN: [2]})
    kpi = KPIConfig(id="revenue", title="Revenue", source="sales", column="Amonut")
    with pytest.raises(KPIDataError) as raised:
        prepare_kpi_rows(frame, kpi, SourceConfig(name="sales", type="csv", path="s.csv"))
    assert raised.value.where == {"key": "kpis.revenue.column", "source": "sales"}
    filtered = KPIConfig(id="paid", title="Paid", source="sales", column="Amount", filter="Status == 'paid'")
    with pytest.raises(KPIDataError) as raised:
        prepare_kpi_rows(frame, filtered, SourceConfig(name="sales", type="csv", path="s.csv"))
    assert raised.value.key == "kpis.paid.filter"


def test_an_output_error_names_its_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as raised:
        atomic_write_bytes(blocker / "out.xlsx", b"x")
    assert raised.value.file == str(blocker / "out.xlsx")
    assert isinstance(raised.value, OSError)  # callers that catch OSError still do


def test_exit_codes_come_from_one_place() -> None:
    assert exit_code_for(LockBusy(None)) is ExitCode.BUSY
    assert exit_code_for(PeriodError("2026-Q5 is not a period")) is ExitCode.CONFIG
    assert exit_code_for(RuntimeError("a bug")) is ExitCode.FAILED
    assert worst(0, 3) is ExitCode.STALE and worst(3, 1, 0) is ExitCode.FAILED and worst() is ExitCode.OK


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("config.toml: kpis.x.agg: nope"), 2),
        (PeriodError("not a period"), 2),
        (LockBusy(None), 4),
        (OutputError("out.xlsx: cannot write: the disk is full"), 1),
        (KPIDataError("kpis.x.column: no column"), 3),
    ],
)
def test_the_cli_exits_with_the_errors_own_code(
    error: SheetsyncError, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited, user_errors(debug=False):
        raise error
    assert exited.value.code == code
    assert capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.parametrize(("error", "code"), [(ConfigError("config.toml: x: nope"), 2), (RuntimeError("a bug"), 1)])
def test_the_scheduler_records_the_errors_own_code(tmp_path: Path, error: Exception, code: int) -> None:
    from sheetsync.runtime.scheduler import Scheduler

    def failing_sync(_config: object) -> None:
        raise error

    lines: list[str] = []
    scheduler = Scheduler(load_config(copy_example(tmp_path)), sync_job=failing_sync, emit=lines.append)
    run = scheduler.run_job("sync", "schedule")
    assert run is not None and (run.outcome, run.exit_code) == ("error", code)
    assert f" exit={code} " in lines[-1]


PLACE = {"file": "sales.csv", "key": "kpis.revenue.column", "source": "sales", "sheet": "Orders", "row": 7}


def _located(cls: type[SheetsyncError]) -> SheetsyncError:
    """An instance of `cls` made as its raise sites make it, told it happened at PLACE."""
    from connectors.google_client import GoogleAPIError
    from connectors.smtp_mailer import DeliveryError
    from connectors.webhooks import WebhookError
    from sheetsync.runtime.history import HistoryError
    from sheetsync.runtime.lock import LockUnavailable

    if issubclass(cls, SourceError):
        return cls("bad cell", source="sales", location="sales.csv", sheet="Orders", row=7, key=PLACE["key"])
    if issubclass(cls, GoogleAPIError):
        return cls("Google API GET failed", response=None, status_code=500, spreadsheet="1AbC", **PLACE)
    if issubclass(cls, DeliveryError):
        return cls("SMTP mail:587: refused", server="mail:587", recipients=("a@example.com",), **PLACE)
    if issubclass(cls, WebhookError):
        return cls("Slack webhook $HOOK: answered 500", transient=True, channel="slack", env="HOOK", **PLACE)
    if issubclass(cls, LockUnavailable):
        return cls(Path(PLACE["file"]), "no fcntl", **{k: v for k, v in PLACE.items() if k != "file"})
    if issubclass(cls, HistoryError):
        return cls("damaged", Path(PLACE["file"]), **{k: v for k, v in PLACE.items() if k != "file"})
    if issubclass(cls, LockBusy):
        return cls(None, **PLACE)
    return cls("one line for the user", **PLACE)


def test_every_error_class_carries_its_exit_code_and_where_it_happened() -> None:
    for cls in _error_classes():
        error = _located(cls)  # type: ignore[arg-type]
        assert isinstance(error.exit_code, ExitCode), cls
        assert error.where.items() >= PLACE.items(), cls
        assert set(error.where) <= set(error.location_fields), cls
    with pytest.raises(TypeError, match="no location field 'server'"):
        ConfigError("x").locate(server="mail:587")


def test_every_error_class_copies_and_pickles_with_its_place() -> None:
    """One failure kept for several messages is copied, each copy naming its own outbox file; errors
    also cross process pools. Neither may call a subclass's `__init__` with arguments it does not take."""
    for cls in _error_classes():
        error = _located(cls)  # type: ignore[arg-type]
        for again in (copy.copy(error), pickle.loads(pickle.dumps(error))):
            assert type(again) is cls and str(again) == str(error), cls
            assert again.where == error.where, cls
    from connectors.webhooks import WebhookError

    original = _located(WebhookError)
    moved = copy.copy(original).locate(file="outbox/pending/2026-W48-all.slack.json")
    assert (moved.file, original.file) == ("outbox/pending/2026-W48-all.slack.json", PLACE["file"])
    assert moved.transient and moved.env == "HOOK"


def test_delivery_and_google_errors_name_their_place() -> None:
    from connectors.google_client import GoogleAPIError, GoogleConnectionError
    from connectors.smtp_mailer import DeliveryError
    from connectors.webhooks import WebhookError

    delivery = _located(DeliveryError)
    assert delivery.where == {**PLACE, "channel": "email", "server": "mail:587", "recipients": ("a@example.com",)}
    google = _located(GoogleConnectionError)
    assert google.where == {**PLACE, "spreadsheet": "1AbC"}
    assert pickle.loads(pickle.dumps(google)).where == google.where  # errors cross process pools
    assert isinstance(google, GoogleAPIError)
    assert _located(WebhookError).where == {**PLACE, "channel": "slack", "env": "HOOK"}


def test_a_refused_smtp_server_names_itself_and_the_recipients(capsys: pytest.CaptureFixture[str]) -> None:
    from email.message import EmailMessage

    from connectors.smtp_mailer import DeliveryError, SMTPSettings, send

    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    message = EmailMessage()
    message["To"], message["Cc"] = "a@example.com", "b@example.com"
    with pytest.raises(DeliveryError) as raised:
        send(message, SMTPSettings("127.0.0.1", port, security="none", retries=1))
    assert raised.value.where == {"channel": "email", "server": f"127.0.0.1:{port}",
                                  "recipients": ("a@example.com", "b@example.com")}
    with pytest.raises(SystemExit), user_errors(debug=False):
        raise raised.value
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


def test_a_failed_google_call_names_the_spreadsheet_and_tab(fake_google: FakeGoogle, tmp_path: Path) -> None:
    from connectors.google_client import GoogleAPIError, RetryPolicy, make_gspread_client

    creds = fixtures.write_service_account(tmp_path / "sa.json", fake_google)
    key = fake_google.add_spreadsheet("Metrics", {"Sheet1": [["kr", "value"]]})
    client = make_gspread_client(credentials_path=str(creds), api_url=fake_google.url,
                                 retry=RetryPolicy(max_attempts=1, sleep=lambda _s: None))
    sheet = client.open_by_key(key)
    fake_google.deny(key)
    with pytest.raises(GoogleAPIError) as raised:
        sheet.values_get("'My Tab'!A1:B2")
    assert raised.value.where == {"spreadsheet": key, "sheet": "My Tab"}
    assert key in str(raised.value)


@pytest.mark.parametrize("folder", ["state", "outbox"])
def test_a_file_where_a_folder_should_be_is_one_line_naming_it(tmp_path: Path, folder: str) -> None:
    """A state folder or outbox that is a file: said so, not 'unexpected FileExistsError' or 'File exists'."""
    from tests.helpers import run_cli

    config = copy_example(tmp_path, never_stale=True)
    text = config.read_text(encoding="utf-8").replace('state_dir = ".sheetsync"', 'state_dir = "state"')
    config.write_text(text, encoding="utf-8")
    (tmp_path / folder).write_text("a file")
    proc = run_cli("run", "--config", str(config), "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert f"{tmp_path / folder} is a file, not a folder (move the file, or name another folder)" in proc.stderr
