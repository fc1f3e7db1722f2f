"""Config is parsed once: what the loader checked is what the run uses, never parsed again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sheetsync.config import load_config
from sheetsync.core.expressions import Filter, Formula, filters, formulas
from sheetsync.core.model import (
    Change,
    DigestConfig,
    KeyResultConfig,
    KPIConfig,
    SourceConfig,
    SubjectTemplate,
    parse_change,
)
from sheetsync.core.schedule_spec import AtTime, Every
from sheetsync.errors import ConfigError
from sheetsync.runtime.pipeline import sync
from tests.helpers import copy_example


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
