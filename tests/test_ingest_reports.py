"""Running-text sources: the real seed reports (interview report 002, annual report 001)."""
from __future__ import annotations

from collections import Counter

import pytest

from conftest import SEED_001, SEED_002
from files import same_but_placeholders


@pytest.fixture
def seed_study(study, seeds):
    result = study.ingest(SEED_001, SEED_002)
    assert result.ok, result.failed
    return study


def _docs(study, kind):
    attrs = study.store.attributes()
    return [(d, attrs.get(d["id"], {})) for d in study.store.documents([kind])]


def test_interviews_in_seed_002(seed_study):
    interviews = [(d, a) for d, a in _docs(seed_study, "interview") if d["source_name"] == SEED_002.name]
    # 19 interview headings; 4 of them are joint interviews with two people: 23 people in all
    assert len(interviews) == 19
    assert sum(int(a["n_interviewees"]) for _, a in interviews) == 23
    assert sum(a["participant"] == "ja" for _, a in interviews) == 6
    assert all("date" in a for _, a in interviews)
    by_line = {d["locator"]: a for d, a in interviews}
    assert by_line["rad 491"] == {"date": "2019-06-18", "participant": "ja", "role": "deltagare",
                                  "site": "Hallstahammar", "gender": "man", "n_interviewees": "1"}
    staff = by_line["rad 173"]
    assert staff["role"] == "verksamhetsledare" and staff["site"] == "Surahammar"
    assert staff["date"] == "2019-04-26" and staff["participant"] == "nej"
    assert by_line["rad 505"]["organisation"] == "Försäkringskassan"
    assert by_line["rad 527"]["site"] == "Köping"
    # no person name from a heading becomes an attribute
    all_values = " ".join(v for _, a in interviews for v in a.values())
    for name in ("Susanne", "Johnsson", "Riitta", "Pettersson"):
        assert name not in all_values


def test_interview_text_runs_to_next_interview(seed_study):
    source = SEED_002.read_text(encoding="utf-8")
    docs = [d for d, _ in _docs(seed_study, "interview")]
    for d in docs:
        assert same_but_placeholders(d["text"], source[d["src_start"]:d["src_end"]])
        assert "Intervju med" not in d["text"].split("\n", 1)[0]
    # the sub-heading inside one interview stays part of it
    stalarv = next(d for d in docs if d["locator"] == "rad 339")
    assert "Jobbcentrums organisation" in stalarv["text"]
    # the evaluator's own summary after the last interview is not part of any interview
    assert not any("MINA EGNA FUNDERINGAR" in d["text"] for d in docs)


def test_quotes_in_seed_001_carry_their_team(seed_study):
    quotes = [(d, a) for d, a in _docs(seed_study, "quote") if d["source_name"] == SEED_001.name]
    assert Counter(a.get("team") for _, a in quotes) == {
        "Hallstahammar": 5, "Surahammar": 4, "FNS": 16, "Sala": 3, "Västerås": 2}
    # the FNS quotes given at the end of the programme are marked as 'avslut'
    assert sum(a.get("form") == "avslut" for _, a in quotes) == 10
    source = SEED_001.read_text(encoding="utf-8")
    for d, _ in quotes:
        assert same_but_placeholders(d["text"], source[d["src_start"]:d["src_end"]])
        assert d["text"][0] not in "\"”*-" and d["text"][-1] not in "\"”*"
    # the "Goda nyheter" list is news, not participant voice; the table of contents is skipped
    texts = " ".join(d["text"] for d, _ in quotes)
    assert "tigerbeståndet" not in texts
    sections = [d for d, _ in _docs(seed_study, "section")]
    assert any("tigerbeståndet" in d["text"] for d in sections)
    assert not any("Inledning....." in d["text"] for d in sections)


def test_report_sections_keep_heading_as_title(seed_study):
    sections = {d["title"]: d for d, _ in _docs(seed_study, "section") if d["source_name"] == SEED_001.name}
    assert "Narrativ berättelse – sammanfattning av fritextsvar av deltagare" in sections
    assert "Ekonomiskt resultat" in sections


def test_markdown_bullets_and_headings(study, tmp_path):
    md = tmp_path / "svar.md"
    md.write_text(
        "# Team Älvsbo\n\n## Citat från deltagare\n\n"
        "- Jag har fått rutiner och ett sammanhang.\n"
        "- *”Personalen lyssnar på mig.”*\n"
        "- \"Jag vågar mer nu\"\n\n"
        "## Verksamhet\n\nVi har haft **fyra** grupper i år.\n\n- Promenader\n- Matlagning\n",
        encoding="utf-8")
    assert study.ingest(md).ok
    quotes = _docs(study, "quote")
    assert [d["text"] for d, _ in quotes] == [
        "Jag har fått rutiner och ett sammanhang.", "Personalen lyssnar på mig.", "Jag vågar mer nu"]
    assert {a["team"] for _, a in quotes} == {"Älvsbo"}
    assert {a["section"] for _, a in quotes} == {"Citat från deltagare"}
    (section, attrs), = _docs(study, "section")
    assert section["title"] == "Verksamhet" and "Promenader" in section["text"]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_text_encodings(study, tmp_path, encoding):
    path = tmp_path / f"svar_{encoding}.txt"
    path.write_bytes("Citat från deltagare\n\n- ”Jag mår bättre nu, både i kropp och själ.”\n- ”Äntligen ett ställe där jag blir förstådd.”\n"
                     .encode(encoding))
    assert study.ingest(path).ok
    texts = [d["text"] for d, _ in _docs(study, "quote")]
    assert texts == ["Jag mår bättre nu, både i kropp och själ.", "Äntligen ett ställe där jag blir förstådd."]
