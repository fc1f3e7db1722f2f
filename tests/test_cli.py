"""The command line as users meet it: exit codes, one-line errors, check and init."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import copy_example, run_cli


def test_config_error_is_one_line_exit_2(tmp_path):
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace('agg = "mean"', 'agg = "avg"', 1))
    proc = run_cli("sync", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: config.toml: kpis.csat.agg: 'avg' is not one of sum, mean, median, min, max, count, "
        "count_distinct, first, last"
    )
    assert "Traceback" not in proc.stderr


def test_missing_source_file_marks_krs_stale_exit_3(tmp_path):
    copy_example(tmp_path)
    (tmp_path / "data" / "support.csv").unlink()
    proc = run_cli("sync", "--as-of", "2026-11-24", "--json", "out.json", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "source 'support'" in proc.stderr and "file not found" in proc.stderr
    results = json.loads((tmp_path / "out.json").read_text())
    sources = {s["name"]: s for s in results["sources"]}
    assert sources["support"]["status"] == "failed"
    assert sources["support"]["location"] == str(tmp_path / "data" / "support.csv")  # where the read failed
    assert sources["sales"]["status"] == "ok"  # one source failing never stops the others
    kpis = {k["id"]: k for k in results["kpis"]}
    assert kpis["csat"]["stale_sources"] == ["support"]  # as the digest says which source left it stale
    assert kpis["revenue"]["stale_sources"] == []
    krs = {k["id"]: k for o in results["objectives"] for k in o["key_results"]}
    assert krs["O1-KR1"]["status"] == "no_data"
    assert "support" in krs["O1-KR1"]["stale"]
    assert krs["O2-KR1"]["status"] != "no_data"


def test_missing_column_names_kpi_source_and_column(tmp_path):
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace('column = "CSAT"', 'column = "CSATT"'))
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 3
    assert "kpis.csat.column: source 'support' has no column 'CSATT' (did you mean 'CSAT'?)" in proc.stderr


def test_text_in_a_number_column_is_a_warning_naming_the_row(tmp_path):
    copy_example(tmp_path)
    csv_path = tmp_path / "data" / "support.csv"
    lines = csv_path.read_text().splitlines()
    index = max(i for i, line in enumerate(lines) if ",chat," in line)  # a row the spam filter keeps
    fields = lines[index].split(",")
    fields[3] = "great!"
    lines[index] = ",".join(fields)
    csv_path.write_text("\n".join(lines) + "\n")
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = index + 1  # the sheet row a person sees: the header is row 1
    assert f"source 'support', column 'CSAT', row {row}: 'great!' is not a number (skipped)" in proc.stderr


def test_check_reports_sources_and_problems(tmp_path):
    copy_example(tmp_path)
    ok = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "source 'sales'" in ok.stdout and "sheet 'Orders'" in ok.stdout
    assert "kpi 'csat': " in ok.stdout and "dated 2026-07-01 to 2026-11-23" in ok.stdout
    assert "60% of 2026-Q4 elapsed" in ok.stdout
    (tmp_path / "data" / "web.csv").unlink()
    bad = run_cli("check", cwd=tmp_path)
    assert bad.returncode == 1
    assert "source 'web'" in bad.stdout and "file not found" in bad.stdout


def test_check_names_each_secret_variable_that_is_not_set(tmp_path):
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace('outbox = "outbox"', 'outbox = "outbox"\nsmtp_host = "127.0.0.1"\n'
                      'username = "bot"\npassword_env = "CHECK_TEST_PW"', 1)
                      + '\n[digest.slack]\nwebhook_env = "CHECK_TEST_SLACK"\n')
    unset = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path, env={"CHECK_TEST_PW": "", "CHECK_TEST_SLACK": ""})
    assert unset.returncode == 1
    assert "✗ digest.password_env: environment variable CHECK_TEST_PW is not set" in unset.stdout
    assert "✗ digest.slack.webhook_env: environment variable CHECK_TEST_SLACK is not set" in unset.stdout
    given = {"CHECK_TEST_PW": "x", "CHECK_TEST_SLACK": "http://127.0.0.1:9/hook"}
    assert run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path, env=given).returncode == 0


def test_init_writes_a_runnable_project_and_refuses_to_overwrite(tmp_path):
    proc = run_cli("init", "proj", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "proj" / "config.toml").exists()
    assert (tmp_path / "proj" / "data" / "sales.xlsx").exists()
    again = run_cli("init", "proj", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    sync = run_cli("sync", "--config", "proj/config.toml", cwd=tmp_path)  # today: init's data is current
    assert sync.returncode == 0, sync.stderr


def test_bad_as_of_is_a_usage_error(tmp_path):
    copy_example(tmp_path)
    proc = run_cli("sync", "--as-of", "24/11/2026", cwd=tmp_path)
    assert proc.returncode == 2
    assert "is not a date like 2026-11-24" in proc.stderr
    leap = run_cli("sync", "--as-of", "2026-02-29", cwd=tmp_path)  # the right shape, a day 2026 has not
    assert leap.returncode == 2 and "'2026-02-29' is not a date like 2026-11-24: day is out of range" in leap.stderr


def test_builtin_example_runs_outside_a_project(tmp_path):
    proc = run_cli("sync", "--example", "--as-of", "2026-11-24", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["project"] == "Acme"
    assert not Path(tmp_path / "config.toml").exists()


def test_a_cron_run_in_the_wrong_folder_fails_naming_where_it_looked(tmp_path):
    """Not a terminal (cron, systemd): no config is an error, never the example's exit 0."""
    proc = run_cli("run", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"error: {tmp_path / 'config.toml'}: config file not found" in proc.stderr
    assert not (tmp_path / "output").exists() and not (tmp_path / ".sheetsync").exists()
    proc = run_cli("sync", cwd=tmp_path, env={"SHEETSYNC_CONFIG": str(tmp_path / "nope.toml")})
    assert proc.returncode == 2 and "nope.toml: config file not found (named by $SHEETSYNC_CONFIG)" in proc.stderr
    proc = run_cli("sync", "--config", "missing.toml", cwd=tmp_path)
    assert proc.returncode == 2 and f"{tmp_path / 'missing.toml'}: config file not found" in proc.stderr


def test_a_person_at_a_terminal_in_an_empty_folder_gets_the_example_and_is_told(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    from tests.helpers import ROOT

    main_fd, child_fd = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sheetsync", "sync", "--as-of", "2026-11-24"], cwd=tmp_path,
                          env=env, stdin=child_fd, stdout=child_fd, stderr=subprocess.PIPE, timeout=120)
    os.close(child_fd)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    assert proc.returncode == 0, proc.stderr
    assert b"no config.toml in" in shown and b"running the built-in example" in shown


def test_a_filter_naming_an_unknown_column_lists_only_the_sources_columns(tmp_path):
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace("filter = \"Status == 'paid'\"", "filter = \"status == 'paid'\"", 1))
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 3
    line = next(x for x in proc.stderr.splitlines() if x.startswith("warning: kpis.revenue.filter"))
    assert "unknown column 'status' (did you mean 'Status'?)" in line
    assert "'Order ID'" in line and "__row__" not in line  # the row numbers kept for messages are no column


def test_check_counts_and_dates_the_rows_a_kpis_filter_keeps(tmp_path):
    """A filter keeping only old rows must not hide behind the whole source's count and dates."""
    config = copy_example(tmp_path)
    web = tmp_path / "data" / "web.csv"
    lines = web.read_text().splitlines()
    header = lines[0].split(",")
    date_at = header.index("Date")
    last = max(i for i in range(1, len(lines)) if lines[i].split(",")[date_at] <= "2026-10-04")
    lines = [lines[0] + ",Kind"] + [line + (",old" if i <= last else ",new") for i, line in enumerate(lines[1:], 1)]
    web.write_text("\n".join(lines) + "\n")
    config.write_text(config.read_text().replace(
        'column = "Sessions"\nagg = "sum"\ndate_column = "Date"',
        'column = "Sessions"\nagg = "sum"\ndate_column = "Date"\nfilter = "Kind == \'old\'"', 1))
    proc = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path)
    line = next(x for x in proc.stdout.splitlines() if "kpi 'sessions'" in x)
    assert f"{len(lines) - 1} rows, {last} matching its filter, dated " in line, line
    assert line.endswith(f" to {lines[last].split(',')[date_at]}"), line  # the newest row the filter keeps


def test_check_counts_what_the_sources_own_filter_keeps_and_fails_on_its_mistakes(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text(
        "Date,Sales Rep,net\n2026-10-01,ann,10\n2026-10-02,test,20\n2026-10-03,bob,30\n", encoding="utf-8")
    config = """[project]
name = "C"
period = "2026-Q4"
[sources.d]
type = "csv"
path = "data/d.csv"
fresh_within = "never"
filter = "{source_filter}"
[kpis.gross]
source = "d"
column = "net"
date_column = "Date"
filter = "net > 15"
[[objectives]]
id = "O1"
title = "o"
[[objectives.key_results]]
id = "KR1"
title = "kr"
kpi = "gross"
target = 100
"""
    (tmp_path / "config.toml").write_text(config.format(source_filter="`Sales Rep` != 'test'"), encoding="utf-8")
    ok = run_cli("check", "--as-of", "2026-10-05", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "✓ kpi 'gross': 2 rows, 1 matching its filter, dated 2026-10-03 to 2026-10-03" in ok.stdout
    assert "): 3 rows, columns:" in ok.stdout
    (tmp_path / "config.toml").write_text(config.format(source_filter="`Sales Rpe` != 'test'"), encoding="utf-8")
    bad = run_cli("check", "--as-of", "2026-10-05", cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    line = next(x for x in bad.stdout.splitlines() if x.startswith("✗"))
    assert "sources.d.filter" in line and "Sales Rpe" in line and "did you mean 'Sales Rep'" in line, line
    assert "✓ kpi 'gross'" not in bad.stdout


def test_a_title_row_above_the_headers_is_named_with_the_header_row_to_set(tmp_path):
    """A workbook whose row 1 is a merged title: the KPI's column is found in row 3 and the fix is said."""
    from openpyxl import Workbook

    config = copy_example(tmp_path)
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "Web traffic, weekly export (confidential)"
    ws.merge_cells("A1:B1")
    ws.append([])
    ws.append(["Date", "Sessions"])
    for line in (tmp_path / "data" / "web.csv").read_text().splitlines()[1:]:
        day, sessions = line.split(",")
        ws.append([day, int(sessions)])
    wb.save(tmp_path / "data" / "web.xlsx")
    config.write_text(config.read_text().replace(
        'type = "csv"\npath = "data/web.csv"', 'type = "xlsx"\npath = "data/web.xlsx"', 1))
    proc = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 1
    assert ("✗ kpis.sessions.column: source 'web' has no column 'Sessions'; 'Sessions' is a cell of row 3:"
            " set header_row = 3 on sources.web") in proc.stdout.splitlines()
    config.write_text(config.read_text().replace('path = "data/web.xlsx"', 'path = "data/web.xlsx"\nheader_row = 3'))
    proc = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout


def test_a_column_written_with_decimal_commas_names_the_setting_once(tmp_path):
    """A European export under the default decimal = ".": every cell skipped, and the fix said."""
    config = copy_example(tmp_path)
    web = tmp_path / "data" / "web.csv"
    rows = [line.split(",") for line in web.read_text().splitlines()[1:]]

    def euros(sessions: str) -> str:
        return f"{int(sessions) / 4:.2f} €".replace(".", ",")

    web.write_text("Date;Sessions\n" + "".join(f"{day};{euros(n)}\n" for day, n in rows))
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 3
    said = [x for x in proc.stderr.splitlines() if "decimal separator" in x]
    assert said == [
        f"warning: source 'web', column 'Sessions': {len(rows)} cells such as row 2 ('{euros(rows[0][1])}'),"
        f" row 3 ('{euros(rows[1][1])}') are numbers written with ',' as the decimal separator:"
        ' set decimal = "," on sources.web'
    ], proc.stderr
    config.write_text(config.read_text().replace('path = "data/web.csv"', 'path = "data/web.csv"\ndecimal = ","'))
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "decimal separator" not in proc.stderr and "is not a number" not in proc.stderr


def test_a_label_merged_down_its_rows_counts_for_each_row_and_a_merged_number_once(tmp_path):
    """A region typed once and merged beside its deals, as people lay out workbooks (openpyxl writes
    the value in the first cell only, as Excel does)."""
    from datetime import date

    from openpyxl import Workbook

    config = copy_example(tmp_path)
    wb = Workbook()
    ws = wb.active
    ws.append(["Region", "Deal", "Close date", "Value", "Quota"])
    deals = [("North", 1000), ("North", 200), ("North", 30), ("South", 4), ("South", 5000)]
    for number, (region, value) in enumerate(deals, start=2):
        ws.append([region, f"D{number}", date(2026, 10, number), value, 900 if number in (2, 5) else None])
    ws.merge_cells("A2:A4")
    ws.merge_cells("A5:A6")
    ws.merge_cells("E2:E4")  # one quota for the three North deals
    wb.save(tmp_path / "data" / "deals.xlsx")
    config.write_text(config.read_text() + """
[sources.deals]
type = "xlsx"
path = "data/deals.xlsx"
fresh_within = "never"

[kpis.north_pipeline]
source = "deals"
column = "Value"
date_column = "Close date"
filter = "Region == 'North'"

[kpis.quota]
source = "deals"
column = "Quota"
date_column = "Close date"
""")
    proc = run_cli("sync", "--as-of", "2026-11-24", "--json", "out.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    kpis = {k["id"]: k for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    assert kpis["north_pipeline"]["value"] == 1230  # the three North deals, not only the first
    assert kpis["quota"]["value"] == 1800  # 900 merged over three rows counts once, plus South's 900
    assert ("warning: source 'deals': merged cells E2:E4 hold a number: it counts once, in the range's first row"
            in proc.stderr.splitlines())


def test_a_latest_week_kpi_is_fresh_while_its_source_has_rows_since_the_week_ended(tmp_path):
    """Wednesday 25 Nov: the last complete week is 16-22 Nov and support's newest row is Monday 23 Nov.
    With fresh_within = "2 days" that row is fresh; the week's Sunday, three days back, is not the
    newest row the source has."""
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace(
        'path = "data/support.csv"', 'path = "data/support.csv"\nfresh_within = "2 days"', 1))
    proc = run_cli("sync", "--as-of", "2026-11-25", "--json", "out.json", cwd=tmp_path)
    kpis = {k["id"]: k for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    for kpi_id in ("csat", "first_response"):  # window = "latest", grain = "week"
        assert kpis[kpi_id]["window"] == {"start": "2026-11-16", "end": "2026-11-22"}
        assert kpis[kpi_id]["stale"] is None, proc.stderr
        assert kpis[kpi_id]["value"] is not None and kpis[kpi_id]["value_as_of"] == "2026-11-25"
    assert "kpi csat is stale" not in proc.stderr
    proc = run_cli("sync", "--as-of", "2026-11-26", "--json", "out.json", cwd=tmp_path)  # three days: stale
    kpis = {k["id"]: k for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    assert kpis["csat"]["stale"] == "no rows after 23 Nov"


def test_a_totals_row_at_the_bottom_of_an_export_is_named_for_an_undated_sum(tmp_path):
    config = copy_example(tmp_path)
    web = tmp_path / "data" / "web.csv"
    lines = web.read_text().splitlines()
    total = sum(int(line.split(",")[1]) for line in lines[1:])
    web.write_text("\n".join([*lines, f"Total,{total}", ",", ""]))  # and an empty trailing row, as Excel leaves
    config.write_text(config.read_text() + '\n[kpis.all_sessions]\nsource = "web"\ncolumn = "Sessions"\n')
    proc = run_cli("sync", "--as-of", "2026-11-24", "--json", "out.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (f"warning: kpis.all_sessions: source 'web', row {len(lines) + 1}, holds the sum of the {len(lines) - 1}"
            f" rows above it in 'Sessions' ({total:,}): a totals row, counted twice by a KPI without a date_column;"
            " leave it out with a filter on its label, or give the KPI a date_column") in proc.stderr.splitlines()
    assert "kpis.sessions:" not in proc.stderr  # the dated KPI on the same rows leaves the undated row out
    kpis = {k["id"]: k for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    assert kpis["all_sessions"]["value"] == 2 * total  # said, not guessed away


def test_a_sheet_name_in_the_wrong_case_suggests_the_workbooks_own(tmp_path):
    config = copy_example(tmp_path)
    config.write_text(config.read_text().replace('sheet = "Orders"', 'sheet = "orders"', 1))
    proc = run_cli("check", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 1
    assert "no sheet named 'orders' (did you mean 'Orders'?); the workbook has 'Orders'" in proc.stdout


def test_a_run_logs_its_own_steps_but_not_libraries_info_lines(tmp_path):
    """A scheduled (non-terminal) run logs sheetsync's steps at INFO; sqlglot's INFO chatter stays out."""
    import logging

    from click.testing import CliRunner

    from sheetsync.cli import main

    CliRunner().invoke(main, ["check", "--config", str(tmp_path / "missing.toml")])
    assert logging.getLogger("sheetsync.schedule").isEnabledFor(logging.INFO)
    assert logging.getLogger("connectors.google_client").isEnabledFor(logging.INFO)
    assert not logging.getLogger("sqlglot").isEnabledFor(logging.INFO)
    assert logging.getLogger("sqlglot").isEnabledFor(logging.WARNING)
