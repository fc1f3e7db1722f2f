"""A filter's text compares exactly; cells that differ from its text only by a space or a capital are named."""

from __future__ import annotations

import json

import pandas as pd

from sheetsync.core.expressions.filters import parse_filter
from tests.helpers import copy_example, run_cli


def _notes(text: str, frame: pd.DataFrame) -> tuple[list[bool], list[str]]:
    notes: list[str] = []
    mask = parse_filter(text).apply(frame, notes=notes)
    return mask.tolist(), notes


def test_cells_a_filter_leaves_out_by_a_space_or_a_capital_are_named_once():
    frame = pd.DataFrame({"Channel": ["web", "web ", "Web", "app", "web", " WEB", None]})
    mask, notes = _notes("Channel == 'web'", frame)
    assert mask == [True, False, False, False, True, False, False]  # the rows it keeps do not change
    assert len(notes) == 1
    assert "3 rows hold ' WEB', 'Web', 'web ' in 'Channel'" in notes[0]
    assert "not 'web' but for spaces or capitals" in notes[0]


def test_no_note_when_the_filter_keeps_those_cells_or_none_differ():
    frame = pd.DataFrame({"Channel": ["web", "Web", "app"]})
    assert _notes("Channel in ['web', 'Web']", frame)[1] == []  # listed: kept, nothing to say
    assert _notes("Channel == 'web' or Channel == 'Web'", frame)[1] == []
    assert _notes("Channel == 'app'", frame)[1] == []
    assert _notes("Channel != 'web'", frame)[1] == []  # keeps 'Web': what it says
    mask, notes = _notes("Channel in ['web', 'app ']", frame)
    assert mask == [True, False, False]
    assert len(notes) == 2
    assert "'Web' in 'Channel', not 'web'" in notes[0] and "'app' in 'Channel', not 'app '" in notes[1]


def test_a_sync_warns_of_the_left_out_cells_once_and_counts_as_before(tmp_path):
    config = copy_example(tmp_path)
    products = tmp_path / "data" / "products.csv"
    products.write_text(products.read_text() + "Reports export,Launched ,2026-10-28\n")
    # A second KPI with the same filter: the note is said once for the source, not once per KPI.
    config.write_text(config.read_text().replace(
        "[kpis.launches]", '[kpis.launched_list]\ntitle = "Launched"\nsource = "products"\ncolumn = "Product"\n'
        'agg = "count"\ndate_column = "Launch date"\nfilter = "Stage == \'launched\'"\ngrain = "month"\n\n'
        "[kpis.launches]", 1))
    proc = run_cli("sync", "--as-of", "2026-10-31", "--json", "out.json", cwd=tmp_path)
    kpis = {k["id"]: k for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    assert kpis["launches"]["value"] == 1  # October: the mobile app; 'Launched ' is not 'launched'
    lines = [line for line in proc.stderr.splitlines() if "but for spaces or capitals" in line]
    assert len(lines) == 1, proc.stderr
    assert "source 'products', filter \"Stage == 'launched'\": 1 row holds 'Launched ' in 'Stage'" in lines[0]
