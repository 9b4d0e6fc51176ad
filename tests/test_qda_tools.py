"""The evaluators' tools read what narrativ writes: Taguette's own codebook import and export
code, portableQDA's codebook reader (both from PyPI), and — QualCoder does not install from
PyPI — a conformance test of every field QualCoder's REFI-QDA import reads (qualcoder/refi.py,
RefiImport, github.com/ccbogel/QualCoder). Also the README's round-trip claims: ids, colours,
examples and labels through .qdc and Taguette's csv, and through a tool that flattens
descriptions to one line."""
from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections import Counter
from types import SimpleNamespace

import pytest
import yaml

from pipeline import Study, cli, qdc, qdpx
from files import CODEBOOK as BASE_CODEBOOK
from pipeline import codebook as cb

NS = "{urn:QDA-XML:project:1.0}"
# the codebook of tests/test_qdpx.py with a second "väntan" (another id, its own colour)
CODEBOOK = {**BASE_CODEBOOK, "themes": BASE_CODEBOOK["themes"][:2] + [
    {"id": "T05", "label": "väntan", "description": "Att vänta på besked, inte i kö.",
     "examples": ["Jag väntade på beskedet i veckor"], "source": "codebook", "color": "#123456"},
] + BASE_CODEBOOK["themes"][2:]}


def client(module: str):
    """A real client's module from PyPI (the [test] extra / the Makefile install it); skipped
    when missing, but under CI=true a missing client fails."""
    try:
        return pytest.importorskip(module, reason=f"{module} is not installed (pip install '.[test]')")
    except pytest.skip.Exception:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {module} must be installed (make test installs it)")
        raise


def _study(tmp_path, name="a", book=CODEBOOK):
    path = tmp_path / name
    with Study(path):                 # an empty study (the CLI opens only existing ones)
        pass
    (path / cb.CODEBOOK_FILE).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    return path


def _fields(path):
    book = cb.load(path / cb.CODEBOOK_FILE)
    return [(t.id, t.label, t.description, t.examples, t.source) for t in book.themes]


def _colours(path):
    return {c.theme_id: c.color for c in qdc.codes_from_codebook(path)}


# -- Taguette ---------------------------------------------------------------------------------

def test_taguette_imports_the_codebook_csv_with_its_own_code(tmp_path):
    list_tags = client("taguette.import_codebook").list_tags
    validate = client("taguette.validate")
    a = _study(tmp_path)
    assert cli.main(["codebook", "export", "--format", "csv", "--study", str(a)]) == 0
    path = a / "out" / "kodbok.csv"
    tags = list_tags(io.BytesIO(path.read_bytes()))
    codes = qdc.codes_from_codebook(a)
    assert [t["path"] for t in tags] == [c.name for c in codes] == \
        ["Egenmakt och kontroll", "Väntan", "väntan (T05)", "Tacksamhet"]     # names unique: Taguette keeps one tag a name
    assert [t["description"] for t in tags] == [qdc.description_text(c) for c in codes]
    assert all(validate.tag_path(t["path"]) and validate.description(t["description"]) for t in tags)


def test_a_codebook_comes_back_from_taguette_with_ids_and_examples(tmp_path):
    """narrativ's csv -> Taguette's import -> Taguette's own csv export -> narrativ: the same
    themes (Taguette keeps no colours; a theme's default colour comes from its id, so it is the
    same again, and a colour of its own stays in codebook.yaml when the file brings none)."""
    list_tags = client("taguette.import_codebook").list_tags
    a = _study(tmp_path)
    tags = list_tags(io.BytesIO(qdc.export_codebook(a, tmp_path / "ut.csv").read_bytes()))
    back = tmp_path / "taguette.csv"
    with open(back, "w", encoding="utf-8", newline="") as fh:
        _taguette_codebook_csv()([SimpleNamespace(path=t["path"], description=t["description"], highlights_count=0,
                                             documents_count=0) for t in tags], fh)
    b = _study(tmp_path, "b", {"themes": [dict(CODEBOOK["themes"][2])], "moves": {}, "exclude_segments": []})
    assert qdc.import_codebook(back, b) == (3, 1)
    assert sorted(_fields(b)) == sorted(_fields(a))
    assert _colours(b) == _colours(a)


def _taguette_codebook_csv():
    """Taguette's own codebook csv export (taguette.export.codebook_csv). That module imports
    opentelemetry-api 1.10, which needs pkg_resources (gone from setuptools 81 on); where it
    cannot be imported, the same four columns are written as Taguette 1.5.2 writes them."""
    try:
        from taguette.export import codebook_csv
        return codebook_csv
    except ImportError:
        import csv

        def codebook_csv(tags, file):
            writer = csv.writer(file)
            writer.writerow(["tag", "description", "number of highlights", "number of documents"])
            for tag in tags:
                writer.writerow([tag.path, tag.description, tag.highlights_count, tag.documents_count])
        return codebook_csv


# -- portableQDA ------------------------------------------------------------------------------

def test_portableqda_reads_the_qdc(tmp_path):
    portableqda = client("portableqda")
    path = qdc.export_codebook(_study(tmp_path), tmp_path / "kodbok.qdc")
    book = portableqda.codebookCls(output=str(tmp_path / "pq.qdc"))
    book.readQdcFile(input=str(path))
    codes = [e for e in book.tree_root.iter() if str(e.tag).endswith("}Code")]
    assert [c.get("name") for c in codes] == [c.name for c in qdc.codes_from_codebook(tmp_path / "a")]


# -- round trips (README) ---------------------------------------------------------------------

@pytest.mark.parametrize("ending", ["qdc", "csv"])
def test_ids_colours_and_labels_round_trip(tmp_path, ending):
    a = _study(tmp_path)
    first = qdc.export_codebook(a, tmp_path / f"a.{ending}")
    b = tmp_path / "b"
    assert cli.main(["codebook", "import", str(first), "--study", str(b)]) == 0
    assert _fields(b) == _fields(a)                             # "väntan (T05)" is "väntan" again
    assert _colours(b) == _colours(a) and _colours(a)["T05"] == "#123456"
    assert qdc.export_codebook(b, tmp_path / f"b.{ending}").read_bytes() == first.read_bytes()


def test_a_description_flattened_to_one_line_keeps_id_and_examples():
    code = qdc.Code(name="Egenmakt", description="Att själv ha inflytande.",
                    examples=["Jag fick bestämma", "Planen är min"], theme_id="egenmakt")
    text = qdc.description_text(code)
    assert "\n" in text
    for flat in (" ".join(text.split()), text.replace("\n", " ")):
        assert qdc.parse_description(flat) == ("Att själv ha inflytande.", ["Jag fick bestämma", "Planen är min"],
                                               "egenmakt")
    assert qdc.parse_description("Kort. narrativ-id: T09") == ("Kort.", [], "T09")
    assert qdc.parse_description("Inte ett id: narrativ-idé") == ("Inte ett id: narrativ-idé", [], None)


def test_demo_codebook_keeps_its_colours_in_a_new_study(demo_copy, tmp_path):
    before = _colours(demo_copy)
    path = qdc.export_codebook(demo_copy, tmp_path / "demo.qdc")
    new = tmp_path / "ny"
    qdc.import_codebook(path, new)
    after = _colours(new)
    assert len(before) > 20 and after == before
    assert not any("color" in t for t in yaml.safe_load((new / cb.CODEBOOK_FILE).read_text(encoding="utf-8"))["themes"])


def test_codebook_export_format_follows_the_file_ending(tmp_path, capsys):
    a = _study(tmp_path)
    assert cli.main(["codebook", "export", "--study", str(a), "-o", str(tmp_path / "k.csv")]) == 0
    assert (tmp_path / "k.csv").read_bytes().startswith("\ufefftag,description,color".encode("utf-8"))
    assert cli.main(["codebook", "export", "--study", str(a)]) == 0
    assert (a / "out" / "kodbok.qdc").read_bytes().startswith(b"<?xml")
    assert cli.main(["codebook", "export", "--format", "csv", "--study", str(a), "-o", str(tmp_path / "k.txt")]) == 0
    assert (tmp_path / "k.txt").read_bytes().startswith("\ufefftag".encode("utf-8"))
    assert cli.main(["codebook", "export", "--format", "qdc", "--study", str(a), "-o", str(tmp_path / "x.csv")]) == 2
    assert "--format qdc" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


# -- QualCoder: every field its REFI-QDA import reads -------------------------------------------

@pytest.fixture(scope="module")
def project(demo_run, tmp_path_factory):
    """The demo study's .qdpx: (root element, archive members)."""
    from lxml import etree
    study_dir = tmp_path_factory.mktemp("qualcoder") / "studie"
    shutil.copytree(demo_run, study_dir)
    assert cli.main(["export", "--format", "qdpx", "--study", str(study_dir)]) == 0
    with zipfile.ZipFile(study_dir / "out" / "narrativ.qdpx") as z:
        members = {n: z.read(n) for n in z.namelist()}
    return etree.fromstring(members["project.qde"]), members


def _all(root, path):
    return root.findall(path.replace("/", f"/{NS}").replace("./", f"./{NS}", 1) if "/" in path else f"{NS}{path}")


def _unique(values) -> bool:
    return not [v for v, n in Counter(values).items() if n > 1]


def test_qualcoder_project_fields(project):
    """RefiImport.parse_project_tag reads origin ("ATLAS" in origin.upper(): None crashes);
    parse_users the users' guid and name (the first user's name becomes QualCoder's coder)."""
    root, members = project
    assert root.get("origin") == "narrativ" and root.get("creationDateTime").endswith("Z")
    users = root.findall(f"{NS}Users/{NS}User")
    assert all(u.get("guid") and u.get("name") for u in users)
    assert users[0].get("name") == "kodare" and users[-1].get("name") == "narrativ"
    assert "sources/" in "".join(members) and not any(n.startswith("Sources/") for n in members)


def test_qualcoder_codes_and_categories(project):
    """sub_codes: isCodable="false" -> a category (code_cat, unique name), else a code
    (code_name, unique name: a second code of the same name loses its codings); name, guid,
    color, Description. import_project takes the CodeBook's first child as Codes."""
    root, _ = project
    book = root.find(f"{NS}CodeBook")
    assert book[0].tag == f"{NS}Codes"
    codes = list(book.iter(f"{NS}Code"))
    categories = [c for c in codes if c.get("isCodable") == "false"]
    codable = [c for c in codes if c.get("isCodable") == "true"]
    assert len(categories) + len(codable) == len(codes)
    assert _unique(c.get("name") for c in categories) and _unique(c.get("name").casefold() for c in codable)
    assert all(c.get("guid") and c.get("name") for c in codes)
    themes = [c for c in codable if c.find(f"{NS}Description") is not None]
    assert themes and all(c.get("color", "").startswith("#") for c in themes)


def test_qualcoder_variables_cases_and_file_attributes(project):
    """parse_variables: name (attribute_type's primary key: unique), guid, typeOfVariable.
    parse_cases: a named Case -> cases (unique name); its VariableValues become case attributes
    and turn the variable (by name) into a case variable, so case and file variables have
    different names and guids. clean_up_case_codes_and_case_text: a code with the case's guid
    becomes the case's file links (case_text) from that code's codings.
    load_text_source / parse_variable_value: VariableValue in a TextSource -> file attribute."""
    root, members = project
    variables = {v.get("guid"): v for v in root.iter(f"{NS}Variable")}
    assert _unique(v.get("name") for v in variables.values())
    assert {v.get("typeOfVariable") for v in variables.values()} <= {"Text", "Integer"}
    codes = {c.get("guid"): c for c in root.iter(f"{NS}Code")}
    case_vars, file_vars = set(), set()
    for case in root.iter(f"{NS}Case"):
        assert case.get("name") and case.get("guid") in codes       # the case's code: its file links
        case_vars |= {r.get("targetGUID") for r in case.iter(f"{NS}VariableRef")}
    for src in root.iter(f"{NS}TextSource"):
        file_vars |= {r.get("targetGUID") for r in src.findall(f"{NS}VariableValue/{NS}VariableRef")}
    assert case_vars and file_vars and not case_vars & file_vars and (case_vars | file_vars) <= set(variables)
    assert _unique(c.get("name") for c in root.iter(f"{NS}Case"))
    for vv in root.iter(f"{NS}VariableValue"):
        assert vv[0].tag == f"{NS}VariableRef" and vv[1].text is not None
    case_of_source = {}
    for src in root.iter(f"{NS}TextSource"):
        text = members[f"sources/{src.get('guid')}.txt"].decode("utf-8")
        for sel in src.findall(f"{NS}PlainTextSelection"):
            target = sel.find(f"{NS}Coding/{NS}CodeRef").get("targetGUID")
            if codes[target].get("name") and target in {c.get("guid") for c in root.iter(f"{NS}Case")}:
                assert (int(sel.get("startPosition")), int(sel.get("endPosition"))) == (0, len(text))
                case_of_source[src.get("guid")] = target
    assert len(case_of_source) == len(root.findall(f"{NS}Sources/{NS}TextSource"))


def test_qualcoder_sources_selections_and_codings(project):
    """name_creating_user_create_date_source_path_helper: name (unique, or QualCoder renames),
    creatingUser (a user's guid, else "default"), creationDateTime (else the import time),
    plainTextPath internal:// in sources/ (no path attribute). load_codings_for_text:
    startPosition, endPosition, creatingUser, creationDateTime; each Coding's first child is
    its CodeRef, to a code in the codebook."""
    root, members = project
    users = {u.get("guid") for u in root.iter(f"{NS}User")}
    codes = {c.get("guid") for c in root.iter(f"{NS}Code") if c.get("isCodable") == "true"}
    sources = root.findall(f"{NS}Sources/{NS}TextSource")
    assert _unique(s.get("name") for s in sources)
    for src in sources:
        assert src.get("path") is None and src.get("creatingUser") in users and src.get("creationDateTime")
        assert f"sources/{src.get('plainTextPath').split('internal://')[1]}" in members
        for sel in src.findall(f"{NS}PlainTextSelection"):
            assert sel.get("creatingUser") in users and sel.get("creationDateTime")
            int(sel.get("startPosition")), int(sel.get("endPosition"))
            for coding in sel.findall(f"{NS}Coding"):
                assert coding[0].tag == f"{NS}CodeRef" and coding[0].get("targetGUID") in codes
                assert coding.get("creatingUser") in users and coding.get("creationDateTime")


def test_qualcoder_notes_become_journals(project):
    """parse_notes: creationDateTime (missing: AttributeError, the import stops), creatingUser,
    a non-empty name (journal: unique), the text only from plainTextPath (read without an
    encoding argument: UTF-8 without BOM)."""
    root, members = project
    notes = root.findall(f"{NS}Notes/{NS}Note")
    assert len(notes) == 2 and _unique(n.get("name") for n in notes)
    for note in notes:
        assert note.get("name") and note.get("creationDateTime") and note.get("creatingUser")
        data = members[f"sources/{note.get('plainTextPath').split('internal://')[1]}"]
        assert data and not data.startswith(b"\xef\xbb\xbf")
    assert "Källor:" in members[f"sources/{notes[0].get('guid')}.txt"].decode("utf-8")


def test_project_reads_back_with_cases_and_notes(project, tmp_path):
    root, members = project
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    p = qdpx.read(path)
    assert all(c["sources"] for c in p.cases)
    assert sum(len(c["sources"]) for c in p.cases) == len(p.sources)
    assert not any(c.name.startswith("enkatsvar") for c in p.codes.values() if c.codable)
    assert p.notes[0]["text"].startswith(p.notes[0]["name"])


def test_a_codes_own_colour_survives_a_themes_run(demo_copy):
    """A colour imported from another tool (`color` in codebook.yaml) is kept by the next run."""
    book = yaml.safe_load((demo_copy / cb.CODEBOOK_FILE).read_text(encoding="utf-8"))
    first = book["themes"][0]
    first["color"] = "#123456"
    (demo_copy / cb.CODEBOOK_FILE).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    with Study(demo_copy, create=False) as s:
        s.themes()
    after = {t["id"]: t for t in yaml.safe_load((demo_copy / cb.CODEBOOK_FILE).read_text(encoding="utf-8"))["themes"]}
    assert after[first["id"]].get("color") == "#123456"
    assert _colours(demo_copy)[first["id"]] == "#123456"
