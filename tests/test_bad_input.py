"""Bad input: a clear one-line message naming the file and the problem, the rest goes on, and
nothing already stored is lost."""
from __future__ import annotations

import shutil
import sqlite3
import zipfile

import pytest

from conftest import DEMO, OWN_QUOTES
from files import make_pdf, make_xlsx
from pipeline import Study, cli
from pipeline.documents import Document


def _ingest_cli(capsys, study_dir, *paths):
    code = cli.main(["ingest", *map(str, paths), "--study", str(study_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def _write_bad_files(folder):
    folder.mkdir()
    (folder / "tom.txt").write_bytes(b"")
    (folder / "trasig.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with zipfile.ZipFile(folder / "fel_innehall.docx", "w") as z:
        z.writestr("hello.txt", "ingen word-fil")
    (folder / "trasig.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    (folder / "binär.txt").write_bytes(b"\x00\x01\x02hej\x00")
    (folder / "fel_kodning.txt").write_bytes(b"Hej \x81\x8d\x8f\x90\x9d d\xe5")
    (folder / "trasig.xlsx").write_bytes(b"not an excel file")
    make_xlsx(folder / "siffror.xlsx", ["Team", "Poäng", "År"], [["A", 3, 2025], ["B", 4, 2025]])
    (folder / "inskannad.pdf").write_bytes(make_pdf([[], []]))       # pages without a text layer


EXPECTED = {
    "tom.txt": "filen är tom",
    "trasig.docx": "inte en läsbar Word-fil",
    "fel_innehall.docx": "inte en läsbar Word-fil",
    "trasig.pdf": "inte en läsbar PDF",
    "binär.txt": "binära data",
    "fel_kodning.txt": "okänd teckenkodning",
    "trasig.xlsx": "inte en läsbar Excel-fil",
    "siffror.xlsx": "inga fritextkolumner",
    "inskannad.pdf": "inget textlager",
}


def test_folder_with_bad_files_among_good(capsys, tmp_path):
    folder = tmp_path / "indata"
    _write_bad_files(folder)
    shutil.copy(DEMO / "intervjuer_norrvik.docx", folder / "intervjuer.docx")
    shutil.copy(OWN_QUOTES, folder / "arsrapport.txt")
    (folder / "bild.png").write_bytes(b"\x89PNG")
    study_dir = tmp_path / "studie"
    code, out, err = _ingest_cli(capsys, study_dir, folder)
    assert code == 1
    errors = [l for l in err.splitlines() if l.startswith("FEL:")]
    assert len(errors) == len(EXPECTED)
    for name, problem in EXPECTED.items():
        line = next(l for l in errors if f"/{name}:" in l)
        assert problem in line
    # messages name the file and the problem, never the file's content
    assert "this is not really" not in err and "ingen word-fil" not in err
    assert "bild.png: hoppades över" in out
    with Study(study_dir) as study:
        names = {s["file"] for s in study.info()["sources"]}
        assert names == {"intervjuer.docx", "arsrapport.txt"}


def test_nothing_stored_is_lost_when_later_files_fail(capsys, tmp_path):
    study_dir = tmp_path / "studie"
    assert _ingest_cli(capsys, study_dir, DEMO / "enkatsvar_2025.xlsx")[0] == 0
    with Study(study_dir) as s:
        before = (s.store.count("documents"), s.store.count("segments"))
    folder = tmp_path / "dåligt"
    _write_bad_files(folder)
    assert _ingest_cli(capsys, study_dir, folder)[0] == 1
    with Study(study_dir) as s:
        assert (s.store.count("documents"), s.store.count("segments")) == before
        runs = s.store.conn.execute("SELECT stage, status FROM runs ORDER BY id").fetchall()
        assert [tuple(r) for r in runs] == [("ingest", "ok"), ("ingest", "errors")]


def test_a_source_is_stored_whole_or_not_at_all(study):
    docs = [Document("answer", "Ett svar som hinner sparas."), Document("answer", None)]  # NOT NULL fails
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: documents.text"):
        study.store.add_source("/x/enkat.xlsx", "ab" * 32, "xlsx", None, docs)
    assert study.store.count("sources") == 0
    assert study.store.count("documents") == 0


def test_run_dying_midway_keeps_committed_files(study, tmp_path, monkeypatch):
    good = tmp_path / "a.md"
    good.write_text("- ”Jag har fått hjälp att hitta rutiner.”\n- ”Bra personal.”\n", encoding="utf-8")
    later = tmp_path / "b.md"
    later.write_text("- ”Något annat.”\n", encoding="utf-8")
    real = study.store.add_source

    def dies_on_b(path, *args, **kwargs):
        if path.endswith("b.md"):
            raise KeyboardInterrupt  # the user presses Ctrl-C, or the machine stops
        return real(path, *args, **kwargs)

    monkeypatch.setattr(study.store, "add_source", dies_on_b)
    with pytest.raises(KeyboardInterrupt):
        study.ingest(good, later)
    with Study(study.dir) as reopened:
        assert [s["file"] for s in reopened.info()["sources"]] == ["a.md"]
        assert reopened.store.count("documents") == 2


def test_same_file_twice_adds_nothing_and_changed_file_replaces(study, tmp_path):
    path = tmp_path / "citat.md"
    path.write_text("- ”Jag har fått rutiner.”\n- ”Jag har träffat nya vänner.”\n", encoding="utf-8")
    assert study.ingest(path).files[0].status == "added"
    assert study.ingest(path).files[0].status == "unchanged"
    copy = tmp_path / "kopia.md"
    shutil.copy(path, copy)
    assert study.ingest(copy).files[0].status == "unchanged"   # same content under another name
    assert study.store.count("documents") == 2
    path.write_text("- ”Jag har fått rutiner.”\n- ”Jag har träffat nya vänner.”\n- ”Bra stöd.”\n", encoding="utf-8")
    result = study.ingest(path)
    assert result.files[0].status == "replaced"
    assert study.store.count("sources") == 1 and study.store.count("documents") == 3


def test_missing_file_and_missing_study(capsys, tmp_path):
    code, _, err = _ingest_cli(capsys, tmp_path / "s", tmp_path / "finns_inte.txt")
    assert code == 1 and "finns_inte.txt: filen finns inte" in err
    code = cli.main(["info", "--study", str(tmp_path / "ingen_studie")])
    assert code == 2
    assert "ingen studie här" in capsys.readouterr().err


def test_store_from_newer_version_is_refused(study_dir):
    from pipeline.errors import StudyError
    with Study(study_dir) as s:
        s.store.conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StudyError, match="nyare narrativ"):
        Study(study_dir)
