"""Research questions on the real interview report (seed 002) and the framework matrix."""
from __future__ import annotations

import json
import re

import pytest

from conftest import SEED_002
from pipeline import Study, cli
from pipeline.groups import GroupRules
from pipeline.questions import read_questions


@pytest.fixture(scope="module")
def seed_002_study(tmp_path_factory):
    """Seed 002 ingested and themed, and its 15 research questions (from its INLEDNING) in a file."""
    root = tmp_path_factory.mktemp("q")
    text = SEED_002.read_text(encoding="utf-8")
    intro = text[text.index("## INLEDNING"):text.index("### Metod")]
    questions = [l[2:].strip() for l in intro.splitlines() if l.startswith("- ") and l.strip().endswith("?")]
    assert len(questions) == 15
    qfile = root / "fragor.txt"
    qfile.write_text("# forskningsfrågor\n" + "\n".join(questions) + "\n", encoding="utf-8")
    study_dir = root / "studie"
    assert cli.main(["run", str(SEED_002), "--study", str(study_dir)]) == 0
    return study_dir, qfile


def test_stakeholder_groups_from_interview_metadata(seed_002_study):
    study_dir, _ = seed_002_study
    with Study(study_dir, create=False) as study:
        rules = GroupRules.from_config(study.config)
        attrs = study.store.attributes()
        groups = {}
        for d in study.store.documents(["interview"]):
            groups.setdefault(rules.group("interview", attrs[d["id"]]), []).append(d["locator"])
    assert len(groups["Deltagare"]) == 6
    assert sorted(groups["Politiker"]) == ["rad 255", "rad 451"]
    assert groups["Försäkringskassan"] == ["rad 505"] and groups["Arbetsförmedlingen"] == ["rad 527"]
    assert sorted(groups["Regionen"]) == ["rad 553", "rad 569"]
    assert "rad 173" in groups["Teamets personal och chefer"]


def test_questions_cli_on_seed_002(seed_002_study, capsys):
    study_dir, qfile = seed_002_study
    assert cli.main(["questions", "--study", str(study_dir), "--questions", str(qfile)]) == 0
    results = json.loads((study_dir / "out" / "questions.json").read_text(encoding="utf-8"))
    assert len(results) == 15
    participants_q = next(r for r in results if r["question"].startswith("Hur uppfattar deltagarna"))
    assert participants_q["focus"][0] == "Deltagare"
    assert list(participants_q["groups"])[0] == "Deltagare"
    part = participants_q["groups"]["Deltagare"]
    assert len(part["passages"]) >= 2
    for p in part["passages"]:
        assert p["attributes"]["participant"] == "ja"
        assert {"segment_id", "text", "attributes", "score"} <= p.keys()
    # the drafted answer cites its passages, and its quotes are verbatim from them
    answer = part["answer"]
    assert answer["segment_ids"] and set(answer["segment_ids"]) <= {p["segment_id"] for p in part["passages"]}
    cited_text = " ".join(p["text"] for p in part["passages"])
    for q in re.findall(r"”([^”]+)”", answer["text"]):
        assert q in cited_text
    owners_q = next(r for r in results if "ägarna/politikerna" in r["question"])
    assert "Politiker" in owners_q["focus"] and "Deltagare" not in owners_q["focus"]
    # every passage of every question carries its group
    for r in results:
        for group, g in r["groups"].items():
            assert all(p["attributes"]["grupp"] == group for p in g["passages"])


def test_framework_matrix_in_notebook_and_xlsx(seed_002_study):
    study_dir, _ = seed_002_study
    with Study(study_dir, create=False) as study:
        frame = study.matrix()
        themes = study.store.themes()
    assert "Deltagare" in frame.columns and "Politiker" in frame.columns
    assert len(frame) == len(themes)
    assert (frame["Deltagare"] <= 6).all() and frame["Deltagare"].sum() > 0
    cell = frame["Deltagare: starkaste avsnitt"].iloc[0]
    assert cell == "" or re.match(r"\[[0-9a-f]{10}(-\d+)?\.[0-9a-f]{6}(-\d+)?\] ", cell)
    from openpyxl import load_workbook
    wb = load_workbook(study_dir / "out" / "narrativ.xlsx", read_only=True)
    rows = list(wb["Ramverksmatris"].iter_rows(values_only=True))
    assert rows[1][0] == "tema" and "Deltagare" in rows[1]
    assert len(rows) == 2 + len(themes)


def test_question_file_errors(tmp_path):
    from pipeline.errors import InputError
    empty = tmp_path / "tom.txt"
    empty.write_text("# bara en kommentar\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="tom.txt: frågefilen innehåller inga frågor"):
        read_questions(empty)
    ok = tmp_path / "q.txt"
    ok.write_text("- Hur fungerar samverkan?\n\n• Vad kan bli bättre?\n", encoding="utf-8")
    assert read_questions(ok) == ["Hur fungerar samverkan?", "Vad kan bli bättre?"]
