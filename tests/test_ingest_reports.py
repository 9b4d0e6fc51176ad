"""Running-text sources: an interview report (one document per "Intervju med …" heading) and an
annual report with team quote lists — on our own material in the repo (tests/fixtures/own), and
on the real seed reports (interview report 002, annual report 001) when ../shared is there."""
from __future__ import annotations

from collections import Counter

import pytest

from conftest import OWN_INTERVIEWS, OWN_QUOTES, SEED_001, SEED_002
from files import line_of, same_but_placeholders


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
    at = lambda words: by_line[line_of(SEED_002, "Intervju med " + words)]   # noqa: E731
    assert at("manlig deltagare nr 3") == {"date": "2019-06-18", "participant": "ja", "role": "deltagare",
                                           "site": "Hallstahammar", "gender": "man", "n_interviewees": "1"}
    staff = at("Susanne")
    assert staff["role"] == "verksamhetsledare" and staff["site"] == "Surahammar"
    assert staff["date"] == "2019-04-26" and staff["participant"] == "nej"
    assert at("Riitta")["organisation"] == "Försäkringskassan"
    assert at("Fredrik")["site"] == "Köping"
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
    stalarv = next(d for d in docs if d["locator"] == line_of(SEED_002, "Intervju med Hanna Stålarv"))
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


# -- the same behaviours on our own material ------------------------------------------------

@pytest.fixture
def own_study(study):
    result = study.ingest(OWN_INTERVIEWS, OWN_QUOTES)
    assert result.ok, result.failed
    return study


def test_interviews_in_own_report(own_study):
    interviews = [(d, a) for d, a in _docs(own_study, "interview") if d["source_name"] == OWN_INTERVIEWS.name]
    # 9 interview headings; 2 are joint interviews with two people: 11 people in all
    assert len(interviews) == 9
    assert sum(int(a["n_interviewees"]) for _, a in interviews) == 11
    assert sum(a["participant"] == "ja" for _, a in interviews) == 3
    assert all("date" in a for _, a in interviews)
    by_line = {d["locator"]: a for d, a in interviews}
    at = lambda words: by_line[line_of(OWN_INTERVIEWS, "Intervju med " + words)]   # noqa: E731
    assert at("manlig deltagare nr 2") == {"date": "2024-04-15", "participant": "ja", "role": "deltagare",
                                           "site": "Arboga", "gender": "man", "n_interviewees": "1"}
    assert at("kvinnlig deltagare 3, Kungsör")["site"] == "Kungsör"        # the place after a comma
    staff = at("Karin Lundgren")
    assert staff == {"date": "2024-03-12", "participant": "nej", "role": "verksamhetsledare", "site": "Arboga",
                     "n_interviewees": "1"}
    assert at("Mats Holmberg")["role"] == "ordförande"
    assert at("Lena Forsberg") == {"date": "2024-05-14", "participant": "nej", "organisation": "Försäkringskassan",
                                   "n_interviewees": "2"}
    assert at("Helena Bergqvist")["organisation"] == "Arbetsförmedlingen" and at("Helena Bergqvist")["site"] == "Kungsör"
    assert at("Eva Lindholm")["site"] == "Region Västmanland"
    # no person name from a heading becomes an attribute, or stays in a title
    all_values = " ".join(v for _, a in interviews for v in a.values()) + " ".join(d["title"] for d, _ in interviews)
    for name in ("Karin", "Lundgren", "Mats", "Holmberg", "Lena", "Forsberg", "Jonas", "Ekman", "Ola", "Nyberg"):
        assert name not in all_values


def test_own_interview_text_runs_to_next_interview(own_study):
    source = OWN_INTERVIEWS.read_text(encoding="utf-8")
    docs = [d for d, _ in _docs(own_study, "interview")]
    for d in docs:
        assert same_but_placeholders(d["text"], source[d["src_start"]:d["src_end"]])
        assert "Intervju med" not in d["text"]
    # the sub-heading inside an interview stays part of it, up to the next interview
    first = next(d for d in docs if d["locator"] == line_of(OWN_INTERVIEWS, "Intervju med Karin Lundgren"))
    assert "Teamets lokaler" in first["text"] and first["text"].rstrip().endswith("träffas samtidigt.")
    # the evaluator's own summary after the last interview is not part of any interview
    assert not any("MINA EGNA FUNDERINGAR" in d["text"] or "min bild" in d["text"] for d in docs)
    sections = {d["title"]: d for d, _ in _docs(own_study, "section") if d["source_name"] == OWN_INTERVIEWS.name}
    assert "min bild" in sections["MINA EGNA FUNDERINGAR"]["text"]


def test_quotes_in_own_list_carry_their_team(own_study):
    quotes = [(d, a) for d, a in _docs(own_study, "quote") if d["source_name"] == OWN_QUOTES.name]
    assert Counter(a.get("team") for _, a in quotes) == {"Arboga": 4, "Kungsör": 3, "VKS": 5}
    # the VKS quotes given at the end of the programme are marked as 'avslut', the others not
    assert [d["text"][:20] for d, a in quotes if a.get("form") == "avslut"] == [
        "Jag går vidare till ", "Utan teamet hade jag", "Stort tack till [NAM"]
    source = OWN_QUOTES.read_text(encoding="utf-8")
    for d, _ in quotes:
        assert same_but_placeholders(d["text"], source[d["src_start"]:d["src_end"]])
        assert d["text"][0] not in "\"”*-" and d["text"][-1] not in "\"”*"
    # the "Goda nyheter" list is news, not participant voice; the table of contents is skipped
    texts = " ".join(d["text"] for d, _ in quotes)
    assert "simskola" not in texts
    sections = [d for d, _ in _docs(own_study, "section") if d["source_name"] == OWN_QUOTES.name]
    assert any("simskola" in d["text"] for d in sections)
    assert not any("....." in d["text"] for d in sections)
    assert {d["title"] for d in sections} >= {"Inledning", "Verksamhet", "Goda nyheter", "Ekonomiskt resultat"}


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
