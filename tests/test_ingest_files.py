"""docx, pdf, xlsx and csv sources: the demo corpus and files written here."""
from __future__ import annotations

from collections import Counter


from conftest import DEMO
from files import make_docx, make_pdf, make_xlsx

ANSWER_Q = "Vad har varit bra med stödet du fått?"
WISH_Q = "Vad skulle kunna bli bättre?"


def _docs(study, kind=None):
    attrs = study.store.attributes()
    return [(d, attrs.get(d["id"], {})) for d in study.store.documents([kind] if kind else None)]


def test_demo_survey_xlsx(study):
    result = study.ingest(DEMO / "enkatsvar_2025.xlsx")
    assert result.ok
    answers = _docs(study, "answer")
    respondents = {d["respondent"] for d, _ in answers}
    assert len(respondents) == 180
    assert Counter(a["question"] for _, a in answers).keys() == {ANSWER_Q, WISH_Q}
    # the other columns became attributes, with the usual names for team / form / year
    _, attrs = answers[0]
    assert {"team", "form", "year", "Kön", "Åldersgrupp", "Hur nöjd är du totalt? (1-5)"} <= attrs.keys()
    assert {a["form"] for _, a in answers} == {"pågående", "avslut"}
    assert len({a["team"] for _, a in answers}) == 3
    # the identifier column is the respondent, not an attribute
    assert "Löpnummer" not in attrs
    first, _ = answers[0]
    assert first["locator"] == f"blad 'Svar', rad 2, kolumn '{ANSWER_Q}'"
    assert first["respondent"].endswith(":1001")
    # one respondent's two answers share the respondent key
    both = Counter(d["respondent"] for d, _ in answers)
    assert max(both.values()) == 2


def test_survey_columns_named_in_settings(study, tmp_path):
    path = make_xlsx(tmp_path / "enkat.xlsx", ["Team", "Kommentar", "Ålder"], [
        ["Norr", "Bra", 34], ["Söder", "Mycket bra stöd", 51], ["Norr", "Inget", 22]])
    # short answers: automatic detection does not call this a text column ...
    result = study.ingest(path)
    assert not result.ok
    assert "inga fritextkolumner" in result.failed[0].problem
    assert "'Kommentar'" in result.failed[0].problem
    # ... naming it in study.toml does
    cfg_file = study.dir / "study.toml"
    cfg_file.write_text(cfg_file.read_text(encoding="utf-8").replace(
        "text_columns = []", 'text_columns = ["Kommentar"]'), encoding="utf-8")
    from pipeline import Study
    with Study(study.dir) as again:
        assert again.ingest(path).ok
        texts = sorted(d["text"] for d, _ in _docs(again, "answer"))
        assert texts == ["Bra", "Inget", "Mycket bra stöd"]


def test_csv_semicolon_cp1252(study, tmp_path):
    path = tmp_path / "export.csv"
    rows = ["Team;Formulär;Fritext",
            "Västra;Pågående;Jag har fått hjälp att komma upp på morgonen och träffa andra.",
            "Östra;Avslut;Personalen har varit fantastisk och jag har börjat studera.",
            "Västra;Avslut;Mötena med Försäkringskassan blev enklare när teamet var med."]
    path.write_bytes("\r\n".join(rows).encode("cp1252"))
    assert study.ingest(path).ok
    answers = _docs(study, "answer")
    assert [a["team"] for _, a in answers] == ["Västra", "Östra", "Västra"]
    assert [a["form"] for _, a in answers] == ["pågående", "avslut", "avslut"]
    assert answers[2][0]["text"].startswith("Mötena med Försäkringskassan")


def test_demo_interview_docx(study):
    result = study.ingest(DEMO)
    assert result.ok
    interviews = _docs(study, "interview")
    assert len(interviews) == 5
    assert sum(a["participant"] == "ja" for _, a in interviews) == 2
    assert all(a.get("date", "").startswith("2025-") for _, a in interviews)
    assert {a["site"] for _, a in interviews} == {"Norrvik", "Sjöholm", "Ekbacka"}
    fk = next(a for _, a in interviews if a.get("organisation") == "Försäkringskassan")
    assert fk["role"] == "samordnare" and fk["site"] == "Sjöholm"
    for d, _ in interviews:
        assert d["locator"].startswith("stycke ")
        assert "Intervju med" not in d["text"]


def test_docx_headings_lists_and_quotes(study, tmp_path):
    path = make_docx(tmp_path / "rapport.docx", [
        ("h1", "Samordningsteam Björkdal"),
        ("h2", "Citat från deltagare"),
        ("li", "Jag har fått en anledning att gå upp på morgonen."),
        ("li", "Teamet hjälpte mig med Arbetsförmedlingen."),
        ("h2", "Verksamhet"),
        ("p", "Under året har teamet haft tre grupper."),
    ])
    assert study.ingest(path).ok
    quotes = _docs(study, "quote")
    assert [a["team"] for _, a in quotes] == ["Björkdal", "Björkdal"]
    assert quotes[1][0]["text"] == "Teamet hjälpte mig med Arbetsförmedlingen."
    (section, _), = _docs(study, "section")
    assert section["title"] == "Verksamhet"


def test_pdf_text_layer(study, tmp_path):
    path = tmp_path / "citat.pdf"
    path.write_bytes(make_pdf([
        ["Citat från deltagare", "", "- \"Jag har fått hjälp att hitta tillbaka till mig själv.\"",
         "- \"Gemenskapen i gruppen har betytt allt för mig.\""],
        ["Verksamhet", "", "Teamet har arbetat med grupper och enskilda samtal under året."],
    ]))
    assert study.ingest(path).ok
    quotes = [d for d, _ in _docs(study, "quote")]
    assert [q["text"] for q in quotes] == ["Jag har fått hjälp att hitta tillbaka till mig själv.",
                                          "Gemenskapen i gruppen har betytt allt för mig."]
    assert quotes[0]["locator"] == "sida 1"
    (section, _), = _docs(study, "section")
    assert section["locator"] == "sida 2" and "grupper och enskilda samtal" in section["text"]


def test_demo_corpus_is_what_the_spec_asks(tmp_path):
    """At least 150 invented answers over 3+ teams and both forms, a few with personal data,
    3+ interview write-ups; and the generator reproduces the committed files."""
    import pandas as pd
    frame = pd.read_excel(DEMO / "enkatsvar_2025.xlsx")
    assert len(frame) >= 150
    assert frame["Team"].nunique() >= 3
    assert set(frame["Formulär"]) == {"Pågående", "Avslut"}
    text = " ".join(frame[ANSWER_Q].dropna()) + " " + " ".join(frame[WISH_Q].dropna())
    assert "070-412 88 31" in text and "Lena Berglund" in text
    assert len(list(DEMO.glob("*.docx"))) >= 3

    import importlib.util
    spec = importlib.util.spec_from_file_location("make_demo", DEMO.parent / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import random
    rows = module.make_answers(random.Random(2025))
    regenerated = pd.DataFrame(rows)
    assert list(regenerated[ANSWER_Q]) == list(frame[ANSWER_Q])
