"""Config is parsed once: what the loader checked is what the run uses, never parsed again."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sheetsync.config import load_config
from sheetsync.core.expressions import Filter, Formula, filters, formulas
from sheetsync.core.model import (
    Change,
    DigestConfig,
    KeyResultConfig,
    KPIConfig,
    SourceConfig,
    SpreadsheetRef,
    SubjectTemplate,
    TrackerConfig,
    WebLink,
    parse_change,
)
from sheetsync.core.schedule_spec import AtTime, Every
from sheetsync.core.sheet_range import SheetRange
from sheetsync.errors import ConfigError
from sheetsync.runtime.delivery import tracker_link
from sheetsync.runtime.pipeline import sync
from tests.helpers import copy_example, run_cli


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every filter or formula text handed to the expression parser, in order."""
    calls: list[str] = []
    for module in (filters, formulas):
        real = module.parse

        def counted(source, what, real=real):  # type: ignore[no-untyped-def]
            calls.append(source.original)
            return real(source, what)

        monkeypatch.setattr(module, "parse", counted)
    return calls


def test_filters_and_formulas_are_parsed_at_load_and_never_during_a_sync(
    tmp_path: Path, parse_calls: list[str]
) -> None:
    config = load_config(copy_example(tmp_path))
    texts = [s.filter.text for s in config.sources.values() if s.filter is not None]
    texts += [k.filter.text for k in config.kpis.values() if k.filter is not None]
    texts += [k.formula.text for k in config.kpis.values() if k.formula is not None]
    assert len(texts) >= 5  # the example has source and KPI filters and two formulas
    assert sorted(parse_calls) == sorted(texts)  # each once, at load

    parse_calls.clear()
    result = sync(config, date(2026, 11, 24))
    sync(config, date(2026, 11, 30))
    assert parse_calls == []
    assert not result.errors
    assert next(k for k in result.kpis if k.id == "conversion_rate").value is not None


def test_the_model_holds_parsed_values(tmp_path: Path) -> None:
    config = load_config(copy_example(tmp_path))
    assert isinstance(config.sources["support"].filter, Filter)
    assert config.sources["support"].filter.columns == {"Channel"}
    assert isinstance(config.kpis["conversion_rate"].formula, Formula)
    assert config.kpis["conversion_rate"].formula.names == {"orders", "sessions"}


def test_text_given_by_code_is_parsed_once_on_construction(parse_calls: list[str]) -> None:
    kpi = KPIConfig(id="k", title="K", source="s", column="v", filter="Kind == 'a'")
    rate = KPIConfig(id="rate", title="Rate", formula="orders / sessions")
    source = SourceConfig(name="s", type="csv", path="s.csv", filter="`Sales rep` != ''")
    assert parse_calls == ["Kind == 'a'", "orders / sessions", "`Sales rep` != ''"]
    assert isinstance(kpi.filter, Filter) and isinstance(rate.formula, Formula)
    assert source.filter is not None and source.filter.columns == {"Sales rep"}
    assert kpi.filter == "Kind == 'a'" and str(rate.formula) == "orders / sessions"


def test_changes_and_schedule_entries_are_held_parsed(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    text = path.read_text()
    path.write_text(text.replace('sync = "monday 07:00"', 'sync = ["monday 07:00", "every 30 minutes"]'))
    config = load_config(path)
    changes = [kr.change for _, kr in config.key_results() if kr.change is not None]
    assert changes and all(isinstance(change, Change) for change in changes)
    assert [type(spec) for spec in config.schedule.sync] == [AtTime, Every]
    assert config.schedule.sync[1].interval.total_seconds() == 1800
    assert [spec.text for spec in config.schedule.digest] == ["monday 08:00"]  # the default, parsed too
    assert parse_change("+15%").target(200.0) == pytest.approx(230.0)
    assert parse_change("-5").target(200.0) == 195.0
    assert parse_change("+10%").target(111.0) == 122.1  # exactly: not 111 * 1.1's 122.10000000000001
    assert parse_change("+33%").target(0.3) == 0.399
    assert KeyResultConfig(id="K", title="t", kpi="k", start=1.0, change="+10%").change == "+10%"
    with pytest.raises(ConfigError, match="'lots' is not a change"):
        KeyResultConfig(id="K", title="t", kpi="k", change="lots")


def test_the_subject_template_is_held_parsed_and_checked(tmp_path: Path) -> None:
    config = load_config(copy_example(tmp_path))
    subject = config.digest.subject
    assert isinstance(subject, SubjectTemplate) and {"project", "period", "week"} <= subject.fields
    given = DigestConfig(subject="{project} · {iso_week}")
    assert given.subject.fields == {"project", "iso_week"} and given.subject == "{project} · {iso_week}"
    assert given.subject.fill({"project": "Acme", "iso_week": "2026-W48"}) == "Acme · 2026-W48"
    with pytest.raises(ConfigError, match=r"unknown placeholder \{projet\} \(did you mean 'project'\?\)"):
        DigestConfig(subject="{projet}")


def test_spreadsheets_and_links_are_held_parsed(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    text = path.read_text().replace('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
                                    '[sources.web]\ntype = "gsheet"\n'
                                    'spreadsheet = "https://docs.google.com/spreadsheets/d/1AbC-_x/edit#gid=42"')
    path.write_text(text.replace('outbox = "outbox"', 'outbox = "outbox"\ntracker_url = "https://okrs.acme.example/t"'))
    config = load_config(path)
    web = config.sources["web"].spreadsheet
    assert isinstance(web, SpreadsheetRef) and (web.key, web.gid) == ("1AbC-_x", 42)
    assert web.url == "https://docs.google.com/spreadsheets/d/1AbC-_x"
    assert isinstance(config.digest.tracker_url, WebLink) and config.digest.tracker_url == "https://okrs.acme.example/t"
    assert tracker_link(config) == "https://okrs.acme.example/t"
    # A Google Sheet tracker's link: the URL as configured, or the edit page of a bare key.
    by_key = replace(config, digest=DigestConfig(), tracker=TrackerConfig(type="gsheet", spreadsheet="1AbC"))
    assert by_key.tracker.spreadsheet == "1AbC" and by_key.tracker.spreadsheet.key == "1AbC"
    assert tracker_link(by_key) == "https://docs.google.com/spreadsheets/d/1AbC/edit"
    by_url = replace(by_key, tracker=TrackerConfig(type="gsheet", spreadsheet=web.text))
    assert tracker_link(by_url) == web.text
    assert config.zone == ZoneInfo("Europe/Lisbon")  # the project's time zone, made once too
    ranged = SourceConfig(name="w", type="gsheet", spreadsheet="1AbC", range="'Web x'!C5:F")
    assert isinstance(ranged.range, SheetRange) and ranged.range == "'Web x'!C5:F"
    assert (ranged.range.title, ranged.range.cells, ranged.range.start_row, ranged.range.start_col) == (
        "Web x", "C5:F", 4, 2)


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        ('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
         '[sources.web]\ntype = "gsheet"\nspreadsheet = "https://docs.google.com/document/d/1AbC/edit"',
         "sources.web.spreadsheet", "is not a Google Sheets URL"),
        ('[tracker]\ntype = "xlsx"', '[tracker]\ntype = "gsheet"\nspreadsheet = "not a key"',
         "tracker.spreadsheet", "is neither a spreadsheet key nor a Google Sheets URL"),
        ('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
         '[sources.web]\ntype = "gsheet"\nspreadsheet = "1AbC"\nrange = "A1:B2:C3"',
         "sources.web.range", "is not an A1 range"),
        ('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
         '[sources.web]\ntype = "gsheet"\nspreadsheet = "1AbC"\nworksheet = "Web"\nrange = "Other!A1:C"',
         "sources.web.range", "name different tabs"),
        ('[sources.web]\ntype = "csv"\npath = "data/web.csv"',
         '[sources.web]\ntype = "gsheet"\nspreadsheet = "1AbC"\nworksheet = "Web"\nrange = "A5:B"\nheader_row = 3',
         "sources.web.header_row", "3 is above range 'A5:B', which starts on row 5"),
        ('outbox = "outbox"', 'outbox = "outbox"\ntracker_url = "javascript:alert(1)"',
         "digest.tracker_url", "expected an http(s) URL"),
        ('outbox = "outbox"', 'outbox = "outbox"\ntracker_url = "okrs.acme.example"',
         "digest.tracker_url", "expected an http(s) URL"),
    ],
)
def test_a_bad_spreadsheet_or_link_fails_check_naming_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, says: str
) -> None:
    path = copy_example(tmp_path)
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert (raised.value.file, raised.value.key) == ("config.toml", key)
    proc = run_cli("check", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: config.toml: {key}: ") and says in line


def test_paths_are_held_as_paths_resolved_against_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = copy_example(tmp_path)
    path.write_text(path.read_text().replace('path = "output/okr_tracker.xlsx"',
                                             'path = "output/okr_tracker.xlsx"\ntemplate = "my_template.xlsx"')
                    + '\n[google]\ncredentials = ["sa.json", "~/keys/b.json"]\n[report]\npath = "out/report.pdf"\n')
    config = load_config(path)
    held = {
        "state_dir": config.state_dir, "digest.outbox": config.digest.outbox, "tracker.path": config.tracker.path,
        "tracker.template": config.tracker.template, "report.path": config.report.path,
        **{f"sources.{s.name}.path": s.path for s in config.sources.values()},
        **{f"google.credentials[{i}]": account for i, account in enumerate(config.google.accounts)},
    }
    assert {key: type(value) for key, value in held.items() if not isinstance(value, Path)} == {}
    assert all(value.is_absolute() for value in held.values())  # type: ignore[union-attr]
    assert config.digest.outbox == tmp_path / "outbox" and config.tracker.template == tmp_path / "my_template.xlsx"
    assert config.google.extra_credentials == (tmp_path / "home" / "keys" / "b.json",)
    # Built from code, a path given as text is held as a Path too.
    assert SourceConfig(name="s", type="csv", path="s.csv").path == Path("s.csv")
    assert DigestConfig(outbox="mail").outbox == Path("mail")
    assert TrackerConfig(path="t.xlsx", template="x.xlsx").template == Path("x.xlsx")
