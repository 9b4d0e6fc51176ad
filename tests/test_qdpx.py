"""REFI-QDA exchange: the demo study as a .qdpx project (valid against the schema, every
selection exact, readable again) and the codebook as .qdc (round trip unchanged, broken files
refused with nothing lost)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import zipfile

import pytest
import yaml

from conftest import SHARED
from pipeline import Study, cli, qdc, qdpx
from pipeline import codebook as cb
from pipeline.errors import StudyError
from pipeline.gate import PrivacyError

XSD = SHARED / "standards" / "refi-qda" / "Project-mrt2019.xsd"
NS = "{urn:QDA-XML:project:1.0}"


def schema():
    if not XSD.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the REFI-QDA schema must be at {XSD} under CI")
        pytest.skip(f"REFI-QDA schema not found at {XSD} (../shared is not beside the repo)")
    from lxml import etree
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="module")
def exported(demo_run, tmp_path_factory):
    """A copy of the demo study, exported with `narrativ export --format qdpx`."""
    study_dir = tmp_path_factory.mktemp("qdpx") / "studie"
    shutil.copytree(demo_run, study_dir)
    assert cli.main(["export", "--format", "qdpx", "--study", str(study_dir)]) == 0
    return study_dir


def _qde(path):
    from lxml import etree
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read("project.qde")), {n: z.read(n) for n in z.namelist()}


def _store_rows(study_dir, sql):
    conn = sqlite3.connect(study_dir / "store.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_archive_layout(exported):
    path = exported / "out" / "narrativ.qdpx"
    root, members = _qde(path)
    assert root.tag == f"{NS}Project"
    docs = _store_rows(exported, "SELECT id FROM documents")
    sources = root.findall(f"{NS}Sources/{NS}TextSource")
    assert len(sources) == len(docs)
    for src in sources:
        ref = src.get("plainTextPath")
        assert ref == f"internal://{src.get('guid')}.txt"
        assert f"sources/{src.get('guid')}.txt" in members
    notes = root.findall(f"{NS}Notes/{NS}Note")
    for note in notes:                  # the notes' text beside the sources (QualCoder reads it there)
        assert f"sources/{note.get('guid')}.txt" in members and note.find(f"{NS}PlainTextContent") is None
    assert len([n for n in members if n.startswith("sources/")]) == len(docs) + len(notes)


def test_project_validates_against_the_schema(exported):
    from lxml import etree
    xsd = schema()
    with zipfile.ZipFile(exported / "out" / "narrativ.qdpx") as z:
        doc = etree.fromstring(z.read("project.qde"))
    assert xsd.validate(doc), xsd.error_log


def test_every_selection_cuts_its_segment_exactly(exported):
    """Read with zipfile + lxml only: positions are code-point offsets into the archived text."""
    root, members = _qde(exported / "out" / "narrativ.qdpx")
    segments = {r["id"]: r["text"] for r in _store_rows(exported, "SELECT id, text FROM segments")}
    themed = {r["segment_id"]: r["label"] for r in _store_rows(
        exported, "SELECT a.segment_id, t.label FROM assignments a JOIN themes t ON t.id = a.theme_id")}
    code_name = {c.get("guid"): c.get("name") for c in root.iter(f"{NS}Code")}
    cases = {c.get("guid") for c in root.iter(f"{NS}Case")}
    seen = {}
    for src in root.iter(f"{NS}TextSource"):
        text = members[f"sources/{src.get('guid')}.txt"].decode("utf-8")
        for sel in src.findall(f"{NS}PlainTextSelection"):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if sel.find(f"{NS}Coding/{NS}CodeRef").get("targetGUID") in cases:
                assert (start, end) == (0, len(text))         # a case's code covers its sources whole
                continue
            assert text[start:end] == segments[sel.get("name")], sel.get("name")
            refs = [c.find(f"{NS}CodeRef").get("targetGUID") for c in sel.findall(f"{NS}Coding")]
            seen[sel.get("name")] = [code_name[r] for r in refs]
    assert set(seen) == set(themed)              # every coded segment, and only those
    assert all(seen[s] == [themed[s]] for s in themed)


def test_round_trip_reads_sources_codes_selections_cases_and_note(exported):
    project = qdpx.read(exported / "out" / "narrativ.qdpx")
    study = Study(exported, create=False)
    with study:
        themes = study.store.themes()
        docs = {d["id"]: d for d in study.store.documents()}
        attrs = study.store.attributes()
        assignments = study.store.assignments()
    known = {qdpx.guid("doc", d): d for d in docs}
    assert {known[s.guid] for s in project.sources} == set(docs)
    for s in project.sources:
        assert s.text == docs[known[s.guid]]["text"]
        assert s.variables == attrs.get(known[s.guid], {})
    codable = {c.guid: c for c in project.codes.values() if c.codable}
    assert sorted(c.name for c in codable.values()) == sorted(t["label"] for t in themes)
    by_label = {t["label"]: t for t in themes}
    for c in codable.values():
        description, _examples, theme_id = qdc.parse_description(c.description)
        assert theme_id == by_label[c.name]["id"]
        assert description == (by_label[c.name].get("description") or "")
        assert c.color and c.color.startswith("#")
    n = 0
    for s in project.sources:
        for sel in s.selections:
            n += 1
            assert [codable[g].name for g, _user in sel.codings] == \
                [next(t["label"] for t in themes if t["id"] == assignments[sel.name][0])]
            assert all(user == qdpx.NARRATIV_USER for _g, user in sel.codings)
    assert n == len(assignments)
    # cases: one per respondent, with the team of survey respondents as a variable
    respondents = {d["respondent"] for d in docs.values()}
    assert {c["name"] for c in project.cases} == respondents
    teams = [c["variables"].get(qdpx.case_variable("team")) for c in project.cases if c["name"].startswith("enkatsvar")]
    assert teams and all(teams)
    assert len(set(teams)) >= 2 and set(teams) <= {a["team"] for a in attrs.values() if "team" in a}
    # the drafted narrative as the project note
    draft = (exported / "out" / "draft.json").read_text(encoding="utf-8")
    import json
    paragraphs = json.loads(draft)["paragraphs"]
    assert [n["name"] for n in project.notes][1:] == ["Antal per tema"]       # and the counts (pipeline.counts)
    assert paragraphs[0]["text"].replace("*", "") in project.notes[0]["text"]


def test_concept_and_new_themes_are_separate_groups(exported):
    project = qdpx.read(exported / "out" / "narrativ.qdpx")
    with Study(exported, create=False) as study:
        themes = study.store.themes()
    kinds = {t["label"]: t["kind"] for t in themes}
    parents = {c.guid: c for c in project.codes.values() if not c.codable}
    for c in project.codes.values():
        if c.codable:
            assert parents[c.parent].name == qdpx.GROUPS[kinds[c.name]]
    sets = {s["name"]: {project.codes[g].name for g in s["codes"]} for s in project.sets}
    for kind in {t["kind"] for t in themes}:
        assert sets[qdpx.GROUPS[kind]] == {label for label, k in kinds.items() if k == kind}
    assert len(sets) == len({t["kind"] for t in themes})


def test_privacy_gate_stops_the_project_export(demo_copy):
    conn = sqlite3.connect(demo_copy / "store.sqlite")
    doc_id = conn.execute("SELECT id FROM documents WHERE kind = 'answer' LIMIT 1").fetchone()[0]
    conn.execute("UPDATE documents SET text = text || ' Ring Anna Svensson på 070-123 45 67.' WHERE id = ?",
                 (doc_id,))
    conn.commit()
    conn.close()
    (demo_copy / "out" / "narrativ.qdpx").unlink(missing_ok=True)
    with Study(demo_copy, create=False) as study:
        with pytest.raises(PrivacyError, match=doc_id):
            study.export_qdpx()
        assert not (demo_copy / "out" / "narrativ.qdpx").exists()
        assert study.export_qdpx(allow_identifying=True).exists()


def test_positions_count_code_points(tmp_path):
    """Characters outside the BMP and combining marks: start/end are code-point offsets."""
    text = "Bra 😊 stöd! Det blev lättare. Kafé\u0301 och samtal 👍🏽 hjälpte mig."
    first = "Det blev lättare."
    second = "Kafé\u0301 och samtal 👍🏽 hjälpte mig."
    s1, s2 = text.index(first), text.index(second)
    doc = {"id": "abc.1", "text": text, "kind": "answer", "respondent": "r1", "source_name": "svar.csv",
           "locator": "rad 2", "title": None}
    segs = [{"id": "abc.1.1", "document_id": "abc.1", "text": first, "start_char": s1, "end_char": s1 + len(first)},
            {"id": "abc.1.2", "document_id": "abc.1", "text": second, "start_char": s2, "end_char": s2 + len(second)}]
    themes = [{"id": "T01", "label": "Lättnad", "kind": "new"}, {"id": "T02", "label": "Samtal", "kind": "concept"}]
    m = qdpx.Material([doc], segs, {"abc.1": {"team": "Norrvik", "year": "2025"}}, themes,
                      {"abc.1.1": ("T01", 0.5, "cluster"), "abc.1.2": ("T02", None, "pinned")}, None)
    qde, files = qdpx.build(m, "liten")
    path = qdpx.write(tmp_path / "liten.qdpx", qde, files)
    project = qdpx.read(path)
    (src,) = project.sources
    assert src.text == text
    cuts = {sel.name: src.text[sel.start:sel.end] for sel in src.selections}
    assert cuts == {"abc.1.1": first, "abc.1.2": second}
    assert [(sel.start, sel.end) for sel in src.selections] == [(s1, s1 + len(first)), (s2, s2 + len(second))]
    assert len(text.encode("utf-16-le")) // 2 > len(text)      # UTF-16 units would differ
    assert project.cases[0]["variables"] == {"team (fall)": "Norrvik", "year (fall)": "2025"}
    assert project.cases[0]["sources"] == [qdpx.guid("doc", "abc.1")]
    assert src.variables == {"team": "Norrvik", "year": "2025"}
    xsd = schema()
    from lxml import etree
    assert xsd.validate(etree.fromstring(qde)), xsd.error_log


# -- codebook exchange ------------------------------------------------------------------------

from files import CODEBOOK  # noqa: E402


def _user_fields(path):
    book = cb.load(path)
    return [(t.id, t.label, t.description, t.examples, t.source) for t in book.themes]


def test_codebook_round_trips_through_qdc_unchanged(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    first = qdc.export_codebook(a, tmp_path / "a.qdc")
    assert cli.main(["codebook", "import", str(first), "--study", str(b)]) == 0
    assert _user_fields(b / "codebook.yaml") == _user_fields(a / "codebook.yaml")
    second = qdc.export_codebook(b, tmp_path / "b.qdc")
    assert second.read_bytes() == first.read_bytes()
    # and the examples and id travel inside the description, as other tools keep it
    codes = qdc.read_codes(first)
    assert [c.theme_id for c in codes] == ["egenmakt", "K07", "x-3"]
    assert codes[0].examples == CODEBOOK["themes"][0]["examples"]


def test_qdc_codes_are_valid_refi_codes(tmp_path):
    """The .qdc's codes, placed in a project, validate against the project schema."""
    from lxml import etree
    xsd = schema()
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    root = etree.fromstring(qdc.export_codebook(tmp_path).read_bytes())
    assert root.tag == f"{{{qdc.NS_CODEBOOK}}}CodeBook"
    book_xsd = XSD.with_name("Codebook-mrt2019.xsd")
    if book_xsd.exists():
        codebook_schema = etree.XMLSchema(etree.parse(str(book_xsd)))
        assert codebook_schema.validate(root), codebook_schema.error_log
    sets = root.find(f"{{{qdc.NS_CODEBOOK}}}Sets")
    assert [len(s.findall(f"{{{qdc.NS_CODEBOOK}}}MemberCode")) for s in sets] == [3]   # portableQDA needs Sets
    root.remove(sets)                  # the project keeps its sets beside the codebook, not in it
    root.attrib.pop("origin")          # an attribute of the codebook schema's root, not of the project's CodeBook
    text = etree.tostring(root).decode().replace(qdc.NS_CODEBOOK, qdc.NS_PROJECT)
    project = etree.fromstring(f'<Project xmlns="{qdc.NS_PROJECT}" name="p">{text}</Project>')
    assert xsd.validate(project), xsd.error_log


def test_reimporting_the_demo_codebook_changes_nothing(demo_copy, tmp_path):
    before = (demo_copy / "codebook.yaml").read_bytes()
    assert cli.main(["codebook", "export", "--format", "qdc", "--study", str(demo_copy),
                     "-o", str(tmp_path / "demo.qdc")]) == 0
    assert cli.main(["codebook", "import", str(tmp_path / "demo.qdc"), "--study", str(demo_copy)]) == 0
    assert (demo_copy / "codebook.yaml").read_bytes() == before


def test_taguette_csv_and_nested_codes_from_another_tool(tmp_path):
    study = tmp_path / "s"
    csv_file = tmp_path / "taguette.csv"
    csv_file.write_text("tag,description,number of highlights\nStruktur,Fasta tider och rutiner,4\n"
                        "Gemenskap,,2\n", encoding="utf-8")
    assert qdc.import_codebook(csv_file, study) == (2, 0)
    book = cb.load(study / "codebook.yaml")
    assert [(t.label, t.description, t.examples, t.source) for t in book.themes] == [
        ("Struktur", "Fasta tider och rutiner", ["Fasta tider och rutiner"], "codebook"),
        ("Gemenskap", "", ["Gemenskap"], "codebook")]
    other = tmp_path / "nvivo.qdc"
    other.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo">'
        '<Codes><Code guid="{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}" name="Stöd" isCodable="false">'
        '<Code guid="11111111-2222-3333-4444-555555555555" name="Kontaktperson" isCodable="true" color="#ff0000">'
        '<Description>En fast person att ringa.</Description></Code>'
        '<Code guid="66666666-2222-3333-4444-555555555555" name="struktur" isCodable="true"/></Code>'
        '</Codes></CodeBook>', encoding="utf-8")
    assert qdc.import_codebook(other, study) == (1, 1)    # "struktur" matches "Struktur" by label
    book = cb.load(study / "codebook.yaml")
    assert [t.label for t in book.themes] == ["struktur", "Gemenskap", "Kontaktperson"]
    assert book.themes[2].examples == ["En fast person att ringa."]


BROKEN = {
    "trasig.qdc": b"<CodeBook><Codes><Code name='a'",
    "fel.qdc": b'<?xml version="1.0"?><Something xmlns="urn:x"/>',
    "tom.qdc": b"",
    "inga.qdc": b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>',
    "utan_namn.qdc": b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="x" isCodable="true"/></Codes></CodeBook>',
    "kolumner.csv": "kategori;antal\nStruktur;3\n".encode("utf-8"),
    "inte_zip.qdpx": b"PK not really",
    "kodbok.docx": b"whatever",
}


@pytest.mark.parametrize("name", sorted(BROKEN) + ["saknas.qdc"])
def test_broken_codebook_files_are_refused_and_nothing_is_lost(name, tmp_path, capsys):
    study = tmp_path / "s"
    study.mkdir()
    (study / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    before = (study / "codebook.yaml").read_bytes()
    path = tmp_path / name
    if name in BROKEN:
        path.write_bytes(BROKEN[name])
    with pytest.raises(StudyError) as err:
        qdc.import_codebook(path, study)
    assert str(path) in str(err.value)
    assert cli.main(["codebook", "import", str(path), "--study", str(study)]) == 2
    assert capsys.readouterr().err.startswith(f"FEL: {path}: ")
    assert (study / "codebook.yaml").read_bytes() == before
    assert not list(study.glob("*.tmp"))
