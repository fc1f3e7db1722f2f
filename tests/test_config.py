"""Config loading: the shipped example, and one-line errors naming file and key."""

from pathlib import Path

import pytest

from sheetsync.config import load_config
from sheetsync.errors import ConfigError
from tests.helpers import copy_example, run_cli

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
[project]
name = "T"
period = "2026-Q4"

[sources.s]
type = "csv"
path = "s.csv"

[kpis.k]
source = "s"
column = "v"

[[objectives]]
id = "O1"
title = "o"

[[objectives.key_results]]
id = "KR1"
title = "kr"
kpi = "k"
target = 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads():
    config = load_config(ROOT / "config.toml")
    assert config.name == "Acme"
    assert config.period.name == "2026-Q4"
    assert set(config.sources) == {"support", "sales", "web", "customers", "products"}
    assert config.kpis["conversion_rate"].formula == "orders / sessions"
    assert [kr.id for _, kr in config.key_results()][:2] == ["O1-KR1", "O1-KR2"]
    assert config.sources["support"].path == ROOT / "data" / "support.csv"
    assert config.tracker.path == ROOT / "output" / "okr_tracker.xlsx"


def test_titles_names_and_owners_are_one_line(tmp_path):
    text = MINIMAL.replace('name = "T"', 'name = """Acme\nGroup"""')
    text = text.replace('title = "o"', 'title = "Grow\\n\\trevenue "')
    text = text.replace('title = "kr"', 'title = "kr\\r\\nnew"\nowner = "Ana\\nB"')
    config = load_config(write(tmp_path, text))
    objective = config.objectives[0]
    assert (config.name, objective.title) == ("Acme Group", "Grow revenue")
    assert (objective.key_results[0].title, objective.key_results[0].owner) == ("kr new", "Ana B")


def test_minimal_config_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    kpi = config.kpis["k"]
    assert (kpi.agg, kpi.window, kpi.grain, kpi.direction) == ("sum", "to_date", "week", "increase")
    assert config.timezone == "UTC"
    assert config.status.on_track == 0.10 and config.status.at_risk == 0.25
    assert config.state_dir == tmp_path / ".sheetsync"
    assert config.threads is None  # files read one per core (connectors.sources.default_threads)


def test_threads_is_a_whole_number_of_at_least_one(tmp_path):
    config = load_config(write(tmp_path, MINIMAL.replace('name = "T"', 'name = "T"\nthreads = 3')))
    assert config.threads == 3
    with pytest.raises(ConfigError, match=r"config.toml: project.threads: must be at least 1, got 0"):
        load_config(write(tmp_path, MINIMAL.replace('name = "T"', 'name = "T"\nthreads = 0')))


def test_output_base_moves_outputs_only(tmp_path):
    out = tmp_path / "out"
    config = load_config(write(tmp_path, MINIMAL), output_base=out)
    assert config.state_dir == out / ".sheetsync"
    assert config.sources["s"].path == tmp_path / "s.csv"
    assert config.tracker.path == out / "output" / "okr_tracker.xlsx"


def test_percent_text_in_config_is_a_number(tmp_path):
    config = load_config(write(tmp_path, MINIMAL.replace("target = 10", 'start = "80%"\ntarget = "90%"')))
    kr = config.objectives[0].key_results[0]
    assert (kr.start, kr.target) == (pytest.approx(0.8), pytest.approx(0.9))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('column = "v"', 'column = "v"\nagg = "avg"'), "config.toml: kpis.k.agg: 'avg' is not one of sum, mean"),
        (
            ('column = "v"', 'column = "v"\ncolum = "x"'),
            "config.toml: kpis.k.colum: unknown key (did you mean 'column'?)",
        ),
        (  # a valid key that looks like the missing one is no misspelling of it
            ('column = "v"', 'date_column = "d"'),
            "config.toml: kpis.k.column: is required for agg = 'sum'",
        ),
        (
            ('column = "v"', 'colum = "v"\ndate_column = "d"'),
            "config.toml: kpis.k.colum: unknown key (did you mean 'column'?)",
        ),
        (
            ('source = "s"', 'source = "sx"'),
            "config.toml: kpis.k.source: no source named 'sx' (did you mean 's'?)",
        ),
        (('kpi = "k"', 'kpi = "kk"'), "config.toml: objectives.O1.key_results.KR1.kpi: no KPI named 'kk'"),
        (('period = "2026-Q4"', 'period = "Q4"'), "config.toml: project.period: 'Q4' is not a period"),
        (
            ('name = "T"', 'name = "T"\ntimezone = "Mars/Olympus"'),
            "config.toml: project.timezone: 'Mars/Olympus' is not an IANA",
        ),
        (
            ("target = 10", 'target = "lots"'),
            "config.toml: objectives.O1.key_results.KR1.target: expected a number, got 'lots'",
        ),
        (
            ("target = 10", "target = 10\nweight = true"),
            "objectives.O1.key_results.KR1.weight: expected a number, got true/false",
        ),
        (
            ('type = "csv"', 'type = "orc"'),
            "config.toml: sources.s.type: 'orc' is not one of csv, xlsx, gsheet, sql, parquet",
        ),
        (("target = 10", 'change = "lots"'), "objectives.O1.key_results.KR1.change: 'lots' is not a change"),
        (("target = 10", "start = 5\ntarget = 5"), "KR1.direction: start equals target"),
        (
            ('path = "s.csv"', 'path = "s.csv"\nfilter = "__import__(1)"'),
            "config.toml: sources.s.filter: bad filter",
        ),
        (
            ("[kpis.k]", '[kpis.f]\nformula = "f2 + 1"\n[kpis.f2]\nformula = "f * 2"\n[kpis.k]'),
            "formula cycle: f -> f2 -> f",
        ),
        (
            ("[kpis.k]", '[kpis.f]\nformula = "nope / 2"\n[kpis.k]'),
            "kpis.f.formula: formula names unknown KPI 'nope'",
        ),
        (
            ("target = 10", 'target = 10\n[[objectives.key_results]]\nid = "KR1"\nkpi = "k"\ntarget = 1\n'),
            "duplicate key result id 'KR1'",
        ),
        (("[[objectives]]", '[[objectives]]\nid = "O1"\n[[objectives]]'), "duplicate objective id 'O1'"),
        (('title = "o"', 'title = "o"\nparent = "O9"'), "objectives.O1.parent: no objective with id 'O9'"),
        (
            ("[project]", "[projects]\nx = 1\n[project]"),
            "config.toml: projects: unknown key (did you mean 'project'?)",
        ),
        (  # a misspelt table is named as such, not as the references it breaks
            ("[sources.s]", "[source.s]"),
            "config.toml: source: unknown key (did you mean 'sources'?)",
        ),
        (("[kpis.k]", "[kpi.k]"), "config.toml: kpi: unknown key (did you mean 'kpis'?)"),
        (
            ("[kpis.k]", '[digest]\npassword = "hunter2"\n[kpis.k]'),
            "digest.password: passwords do not belong in config",
        ),
        (
            ("[kpis.k]", "[status]\non_track = 0.3\nat_risk = 0.2\n[kpis.k]"),
            "status.at_risk: must be at least status.on_track",
        ),
        (  # a warehouse's engine sends KPI values, no rows: its check-ins were dropped without a word
            ("[kpis.k]", '[sources.p]\ntype = "parquet"\npath = "c.parquet"\n[checkins]\nsource = "p"\n[kpis.k]'),
            "config.toml: checkins.source: source 'p' is a parquet source, whose rows sheetsync never loads",
        ),
    ],
)
def test_config_errors_name_file_and_key(tmp_path, change, message):
    old, new = change
    assert old in MINIMAL
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL.replace(old, new, 1)))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert "hunter2" not in str(info.value)


def test_malformed_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"config.toml: invalid TOML: .*line 1"):
        load_config(write(tmp_path, "[project\nname = 1"))


def test_a_valid_config_is_parsed_by_rtoml_and_a_broken_one_named_by_tomllib(tmp_path, monkeypatch):
    import sheetsync.config as config_module

    def pure_python(text):
        raise AssertionError("a valid document went to tomllib")

    monkeypatch.setattr(config_module.tomllib, "loads", pure_python)
    assert load_config(write(tmp_path, MINIMAL)).name
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"invalid TOML: Invalid value \(at line 2, column 8\)"):
        load_config(write(tmp_path, "[project]\nname = = 1\n"))


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_google_reads_several_credentials_quota_and_incremental_opt_out(tmp_path):
    text = MINIMAL + """
[sources.g]
type = "gsheet"
spreadsheet = "1AbC"
worksheet = "Data"
incremental = false

[google]
credentials = ["a.json", "/keys/b.json"]
requests_per_minute = 300
parallel = 4
full_read_days = 1
"""
    config = load_config(write(tmp_path, text))
    assert config.google.accounts == (tmp_path / "a.json", Path("/keys/b.json"))
    assert (config.google.requests_per_minute, config.google.parallel, config.google.full_read_days) == (300, 4, 1)
    assert config.sources["g"].incremental is False and config.sources["s"].incremental is True
    single = load_config(write(tmp_path, MINIMAL + '[google]\ncredentials = "sa.json"\n'))
    assert single.google.accounts == (tmp_path / "sa.json",) and single.google.requests_per_minute == 60
    with pytest.raises(ConfigError, match=r"sources\.s\.incremental: unknown key"):
        load_config(write(tmp_path, MINIMAL.replace('path = "s.csv"', 'path = "s.csv"\nincremental = false')))
    with pytest.raises(ConfigError, match=r"google\.requests_per_minute: must be at least 1"):
        load_config(write(tmp_path, MINIMAL + "[google]\nrequests_per_minute = 0\n"))


def test_a_filter_with_a_single_equals_sign_says_where_and_what_to_write(tmp_path):
    """The message names the spot and the fix once, instead of the whole filter three times."""
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace("filter = \"Status == 'paid'\"", "filter = \"Status = 'paid'\"", 1))
    proc = run_cli("check", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: config.toml: kpis.revenue.filter: bad filter \"Status = 'paid'\": invalid filter syntax"
        " near \"= 'paid'\": use == to compare"
    )
