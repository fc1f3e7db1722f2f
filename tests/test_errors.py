"""One error root: every error class is a SheetsyncError with its exit code and where it happened."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
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
from tests.helpers import copy_example


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
