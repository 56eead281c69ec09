"""The benchmark tables in the READMEs are made from bench/results/, never typed (issue #15)."""

import json

import pytest

from bench import table


def test_readme_tables_match_the_kept_results():
    body = table.table()
    for path in table.READMES:
        text = path.read_text()
        assert table.rewritten(text, body) == text, (
            f"{path.name}'s benchmark table differs from bench/results/; run bench/table.py"
        )


def test_every_result_names_a_script_that_exists_and_says_where_it_ran():
    results = sorted(table.RESULTS.glob("*.json"))
    assert results, "no bench results kept"
    for path in results:
        run = json.loads(path.read_text())
        assert {"date", "setup", "cores", "load_average", "figures"} <= run.keys(), path.name
        for figure in run["figures"]:
            script = figure["command"].split()[0]
            assert (table.ROOT / script).is_file(), f"{path.name}: {script} does not exist"
            assert figure["measured"], path.name


def test_a_figure_under_its_target_says_so(tmp_path, monkeypatch):
    run = {
        "date": "2026-11-26",
        "setup": "SQLite + filesystem broker",
        "cores": 2,
        "load_average": 1.5,
        "figures": [
            {
                "figure": "codes per second | per process",
                "command": "bench/throughput.py",
                "measured": "87 codes/s",
                "target": ">= 80 %",
                "met": False,
            }
        ],
    }
    (tmp_path / "throughput-sqlite.json").write_text(json.dumps(run))
    monkeypatch.setattr(table, "RESULTS", tmp_path)
    row = table.table().splitlines()[2]
    assert ">= 80 %: **not met**" in row
    assert "codes per second \\| per process" in row  # a pipe can't break the table
    assert "26 Nov 2026, SQLite + filesystem broker, 2 cores, load 1.5" in row


def test_missing_markers_are_an_error():
    with pytest.raises(SystemExit, match="markers"):
        table.rewritten("# README without a table\n", "| a |\n")
