"""The commands a user types: run, info, segments."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from conftest import DEMO, OWN_INTERVIEWS
from pipeline import cli


def test_run_info_and_segments_on_demo(capsys, tmp_path):
    study = tmp_path / "demo"
    assert cli.main(["run", str(DEMO), "--study", str(study)]) == 0
    out = capsys.readouterr().out
    assert "enkatsvar_2025.xlsx: inläst, 345 dokument" in out
    assert (study / "store.sqlite").exists() and (study / "study.toml").exists()

    assert cli.main(["info", "--study", str(study), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["documents"]["by_kind"] == {"answer": 345, "interview": 5}
    assert info["respondents"] == 185
    assert info["interviews"] == {"total": 5, "participant": 2, "interviewees": 5, "dated": 5}
    assert info["attributes"]["team"] == {"Norrvik": 116, "Ekbacka": 115, "Sjöholm": 114}

    assert cli.main(["info", "--study", str(study)]) == 0
    text = capsys.readouterr().out
    assert "Intervjuer: 5 (5 intervjuade personer), varav 2 med deltagare" in text

    assert cli.main(["segments", "--study", str(study), "--format", "jsonl"]) == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(rows) == info["segments"]
    first = rows[0]
    assert {"segment_id", "text", "source", "locator", "start", "end", "attributes"} <= first.keys()
    assert first["source"] == "enkatsvar_2025.xlsx" and first["attributes"]["team"]

    target = tmp_path / "segment.csv"
    assert cli.main(["segments", "--study", str(study), "--format", "csv", "-o", str(target)]) == 0
    table = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(table) == len(rows)
    assert table[0]["segment_id"] == first["segment_id"] and table[0]["attr_team"] == first["attributes"]["team"]


def test_entry_point_runs_as_a_program(tmp_path):
    """`python -m pipeline` in a child process (under the tests' network guard, like every child)."""
    study = tmp_path / "s"
    done = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(OWN_INTERVIEWS), "--study", str(study)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "pipeline", "info", "--study", str(study)],
                          capture_output=True, text=True, timeout=300)
    assert "Intervjuer: 9 (11 intervjuade personer), varav 3 med deltagare; 9 med datum" in done.stdout


def test_study_help_says_which_commands_make_the_folder():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        help_text = " ".join(p.format_help().split())
        assert ("created if missing" in help_text) == (name in ("ingest", "run")), name
