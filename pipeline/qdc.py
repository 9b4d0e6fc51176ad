"""Codebook exchange with the QDA tools (NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette):
REFI-QDA codebooks (`.qdc`, QDA-XML 1.0, root `CodeBook`, with a code set per kind of theme) out
and in, and Taguette's codebook csv (`tag`, `description`, and our `color`) out and in.

What a theme becomes in a code, and back:
  label        -> Code `name`
  description  -> Code `Description`, followed (if the theme has its own examples) by a block
                  "Exempel:" with one "- phrase" per line, and a last line "narrativ-id: <id>".
                  The other tools keep a code's description as it is, so examples and id come
                  back through them; on import the block and the id line are read back out.
  id           -> Code `guid` is derived from the id (uuid5), so a re-exported code keeps its guid
  label        -> unique within the file: a second theme of the same label is "Label (id)",
                  read back as "Label" (QualCoder and Taguette keep one code per name)
  colour       -> Code `color` (csv: a `color` column): the theme's own (`color` in codebook.yaml,
                  kept from an imported code), else one picked by its id (see PALETTE)

A code imported from another tool becomes a deductive (codebook) theme. A code without
examples gets its description — or, without one, its name — as its only example phrase: a
codebook theme attracts segments by similarity to its examples, and a description written
for people is the best phrase there is. On export such a derived example is not written out
again, so a codebook round-trips through .qdc unchanged. Existing themes are matched by id (the
id line or the guid) or by label (case-insensitive) and updated; themes the file does not name
are kept. Nothing is written until the whole file has been read.
"""
from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import codebook as cb
from .errors import StudyError

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NARRATIV_NS = uuid.UUID("5b0f3c2e-7d1a-4e55-9c3b-6a2f1e0d8b47")   # our namespace for uuid5 guids
EXAMPLES_HEAD = "Exempel:"
# the id marker: the last words of a description, on a line of its own or (after a tool that
# flattens descriptions to one line) after any whitespace
ID_MARK = re.compile(r"(?:^|\s)narrativ-id: *(\S+)\s*$")
# A theme's colour: its own (codebook.yaml `color`, from an imported code), else one of these
# picked by a hash of its id, so that the same theme has the same colour in every export, in the
# .qdc and the .qdpx, and after an import into another study (where its kind may differ).
PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#ff7f0e", "#d62728",
           "#e377c2", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#aec7e8",
           "#98df8a", "#c5b0d5", "#9edae5", "#ffbb78", "#ff9896", "#f7b6d2"]
COLOUR = re.compile(r"#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3}")
# The groups (parent codes in a project, code sets in both) of the kinds of theme.
GROUPS = {"concept": "Teman med begreppsnamn", "new": "Nya teman (förslag)", "codebook": "Kodbokens teman"}
GROUP_DESCRIPTION = {
    "concept": "Teman som narrativ har namngett efter ett begrepp i begreppslexikonet.",
    "new": "Teman som inget begrepp passar: förslag att namnge eller slå ihop.",
    "codebook": "Teman ur kodboken (codebook.yaml), t.ex. importerade från ett annat program.",
}


def guid(kind: str, key: str) -> str:
    """A stable GUID for one of our objects (same study, same id -> same guid)."""
    return str(uuid.uuid5(NARRATIV_NS, f"{kind}:{key}"))


def default_colour(theme_id: str) -> str:
    """The colour of a theme without one of its own (see PALETTE)."""
    digest = uuid.uuid5(NARRATIV_NS, f"colour:{theme_id}").int
    return PALETTE[digest % len(PALETTE)]


def colours(ids, own: dict[str, str] | None = None) -> dict[str, str]:
    """Theme ids -> a colour each: the theme's own colour, else its default colour."""
    own = own or {}
    return {tid: own[tid] if COLOUR.fullmatch(str(own.get(tid) or "")) else default_colour(tid) for tid in ids}


def unique_names(themes: list[tuple[str, str]], taken: set[str] | None = None) -> dict[str, str]:
    """(theme id, label) pairs -> code names unique within the project (QualCoder, MAXQDA and
    Taguette keep one code per name): the first theme keeps its label, a later theme with the
    same label (ignoring case) gets its id after it, "Label (T05)". `taken`: names (casefolded)
    already used by other codes; it is updated."""
    taken = set() if taken is None else taken
    out = {}
    for tid, label in themes:
        name = label if label.casefold() not in taken else f"{label} ({tid})"
        n = 2
        while name.casefold() in taken:
            name, n = f"{label} ({tid}, {n})", n + 1
        taken.add(name.casefold())
        out[tid] = name
    return out


def label_of(name: str, theme_id: str | None) -> str:
    """A code name back to the theme's label: without the " (id)" unique_names added."""
    tail = f" ({theme_id})"
    return name[:-len(tail)] if theme_id and name.endswith(tail) else name


@dataclass
class Code:
    """A code as the exchange format sees it."""
    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    theme_id: str | None = None          # narrativ's id, when the code came from narrativ
    guid: str = ""
    color: str | None = None
    kind: str = "codebook"


def derived_examples(label: str, description: str) -> list[str]:
    """The example phrase a code without examples gets (see the module docstring)."""
    return [description] if description else [label]


def description_text(code: Code) -> str:
    """The Description of a code: description, the examples block, the id line."""
    parts = [code.description.strip()] if code.description.strip() else []
    if code.examples and code.examples != derived_examples(code.name, code.description):
        parts.append("\n".join([EXAMPLES_HEAD] + [f"- {x}" for x in code.examples]))
    if code.theme_id:
        parts.append(f"narrativ-id: {code.theme_id}")
    return "\n\n".join(parts)


def parse_description(text: str) -> tuple[str, list[str], str | None]:
    """Description text -> (description, examples, narrativ id). Also reads a description
    that a tool has flattened to one line ("… Exempel: - a - b narrativ-id: K07")."""
    text = (text or "").replace("\r\n", "\n").strip()
    theme_id = None
    if (m := ID_MARK.search(text)):
        theme_id, text = m.group(1), text[:m.start()].rstrip()
    lines = text.split("\n")
    if EXAMPLES_HEAD in lines:
        head = len(lines) - 1 - lines[::-1].index(EXAMPLES_HEAD)
        rest = [line for line in lines[head + 1:] if line.strip()]
        if rest and all(line.startswith("- ") for line in rest):
            return "\n".join(lines[:head]).strip(), [line[2:].strip() for line in rest], theme_id
    return _flat_examples(text) + (theme_id,)


def _flat_examples(text: str) -> tuple[str, list[str]]:
    """"desc Exempel: - a - b" (a flattened examples block) -> ("desc", ["a", "b"])."""
    at = text.rfind(f"{EXAMPLES_HEAD} - ")
    if at < 0 or (at and not text[at - 1].isspace()):
        return text, []
    items = [x.strip() for x in re.split(r"(?:^|\s)- ", text[at + len(EXAMPLES_HEAD):].strip()) if x.strip()]
    return (text[:at].strip(), items) if items else (text, [])


# -- codebook.yaml <-> codes ------------------------------------------------------------------

def _raw_themes(path: Path) -> dict[str, dict]:
    """The themes of codebook.yaml as written (with narrativ's information keys, which
    codebook.load does not keep), by id."""
    import yaml
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(t["id"]): t for t in data.get("themes") or [] if isinstance(t, dict) and t.get("id")}


def _theme_descriptions(study_dir: Path) -> dict[str, str]:
    """The descriptions the last themes run gave (a concept theme has its concept's), by id."""
    from .store import STORE_FILE, Store
    if not (Path(study_dir) / STORE_FILE).exists():
        return {}
    with Store(study_dir, create=False) as store:
        return {t["id"]: t.get("description") or "" for t in store.themes()}


def codes_from_codebook(study_dir: Path) -> list[Code]:
    """The themes of codebook.yaml (not excluded ones) as codes, with names unique in the file.
    A theme without a description of its own gets the one its last run gave it (a concept's),
    so that other tools show it."""
    path = Path(study_dir) / cb.CODEBOOK_FILE
    book = cb.load(path)
    if book is None or not book.themes:
        raise StudyError(f"{path}: ingen kodbok att exportera; kör 'narrativ themes' eller importera en kodbok")
    raw = _raw_themes(path)
    described = _theme_descriptions(study_dir)
    live = [t for t in book.themes if not t.exclude]
    colour = colours([t.id for t in live], {t.id: raw.get(t.id, {}).get("color") for t in live})
    names = unique_names([(t.id, t.label) for t in live])
    codes = []
    for t in live:
        kind = str(raw.get(t.id, {}).get("kind") or ("codebook" if t.source == "codebook" else "new"))
        codes.append(Code(name=names[t.id], description=t.description or described.get(t.id, ""),
                          examples=list(t.examples), theme_id=t.id,
                          guid=guid("theme", t.id), color=colour[t.id], kind=kind if kind in GROUPS else "new"))
    return codes


def code_element(parent, code: Code, ns: str):
    from lxml import etree
    attrs = {"guid": code.guid, "name": code.name, "isCodable": "true"}
    if code.color:
        attrs["color"] = code.color
    el = etree.SubElement(parent, f"{{{ns}}}Code", attrs)
    text = description_text(code)
    if text:
        etree.SubElement(el, f"{{{ns}}}Description").text = text
    return el


def write_qdc(path: Path, codes: list[Code]) -> Path:
    """A REFI-QDA codebook: the codes, and a code set per kind of theme (Sets is optional in
    the standard, but portableQDA cannot read a .qdc without it)."""
    from lxml import etree
    root = etree.Element(f"{{{NS_CODEBOOK}}}CodeBook", {"origin": "narrativ"}, nsmap={None: NS_CODEBOOK})
    parent = etree.SubElement(root, f"{{{NS_CODEBOOK}}}Codes")
    for code in codes:
        code_element(parent, code, NS_CODEBOOK)
    sets = etree.SubElement(root, f"{{{NS_CODEBOOK}}}Sets")
    for kind, name in GROUPS.items():
        members = [c for c in codes if c.kind == kind]
        if members:
            s = etree.SubElement(sets, f"{{{NS_CODEBOOK}}}Set", {"guid": guid("set", kind), "name": name})
            etree.SubElement(s, f"{{{NS_CODEBOOK}}}Description").text = GROUP_DESCRIPTION[kind]
            for c in members:
                etree.SubElement(s, f"{{{NS_CODEBOOK}}}MemberCode", {"guid": c.guid})
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return _write_atomic(path, data)


# Taguette's codebook columns (its import reads `tag` and `description`; it keeps no colours, so
# narrativ's id travels in the description, and the colour in a column of its own)
CSV_COLUMNS = ("tag", "description", "color")


def write_csv(path: Path, codes: list[Code]) -> Path:
    """The codebook as the csv Taguette imports (UTF-8 with BOM, so that Excel reads it too)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for c in codes:
        w.writerow([c.name, description_text(c), c.color or ""])
    return _write_atomic(path, buf.getvalue().encode("utf-8-sig"))


def _write_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


FORMATS = {"qdc": write_qdc, "csv": write_csv}


def export_codebook(study_dir: Path, path: Path | None = None, fmt: str | None = None) -> Path:
    """codebook.yaml -> a REFI-QDA codebook (.qdc) or Taguette's csv; the format from `fmt`,
    else from the file's ending (.csv: csv, anything else: qdc). Default DIR/out/kodbok.<format>."""
    study_dir = Path(study_dir)
    fmt = fmt or ("csv" if path is not None and Path(path).suffix.lower() == ".csv" else "qdc")
    if fmt not in FORMATS:
        raise StudyError(f"okänt kodboksformat '{fmt}'; välj {' eller '.join(FORMATS)}")
    return FORMATS[fmt](path or study_dir / "out" / f"kodbok.{fmt}", codes_from_codebook(study_dir))


# -- reading codes from other tools -----------------------------------------------------------

def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def codes_from_xml(root, path: Path) -> list[Code]:
    """Every codable code under a CodeBook (or a Project's CodeBook), nested ones flattened."""
    book = root if _local(root.tag) == "CodeBook" else next(
        (el for el in root if _local(el.tag) == "CodeBook"), None)
    if book is None:
        raise StudyError(f"{path}: ingen REFI-kodbok (rotelementet är '{_local(root.tag)}', väntade 'CodeBook' "
                         "eller 'Project' med en kodbok)")
    codes_el = next((el for el in book if _local(el.tag) == "Codes"), None)
    out: list[Code] = []

    def walk(el, depth=0):
        for child in el:
            if _local(child.tag) != "Code":
                continue
            name = (child.get("name") or "").strip()
            if not name:
                raise StudyError(f"{path}: en kod saknar namn (rad {child.sourceline})")
            if (child.get("isCodable") or "true").strip().lower() not in ("false", "0"):
                desc_el = next((d for d in child if _local(d.tag) == "Description"), None)
                description, examples, theme_id = parse_description(desc_el.text if desc_el is not None else "")
                out.append(Code(name=label_of(name, theme_id), description=description, examples=examples,
                                theme_id=theme_id, guid=(child.get("guid") or "").strip("{}").lower(),
                                color=child.get("color")))
            walk(child, depth + 1)

    if codes_el is not None:
        walk(codes_el)
    if not out:
        raise StudyError(f"{path}: kodboken innehåller inga koder")
    return out


def _parse_xml(data: bytes, path: Path):
    from lxml import etree
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise StudyError(f"{path}: inte en läsbar REFI-fil (XML-fel: {exc.msg}, rad {exc.lineno})") from None


def _decode(data: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise StudyError(f"{path}: okänd teckenkodning (väntade UTF-8 eller Windows-1252)")


NAME_COLUMNS = ("name", "tag", "namn", "kod", "code", "tema", "label")
DESCRIPTION_COLUMNS = ("description", "beskrivning", "desc")
COLOUR_COLUMNS = ("color", "colour", "färg")


def _column(header: list[str], names) -> int | None:
    return next((header.index(c) for c in names if c in header), None)


def codes_from_csv(data: bytes, path: Path) -> list[Code]:
    text = _decode(data, path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        raise StudyError(f"{path}: filen är tom")
    header = [h.strip().lower() for h in rows[0]]
    name_col = next((header.index(c) for c in NAME_COLUMNS if c in header), None)
    if name_col is None:
        raise StudyError(f"{path}: ingen kolumn 'name' (eller 'tag') i första raden; hittade: "
                         f"{', '.join(h for h in header if h) or 'inga rubriker'}")
    desc_col, colour_col = _column(header, DESCRIPTION_COLUMNS), _column(header, COLOUR_COLUMNS)
    codes = []
    for k, row in enumerate(rows[1:], start=2):
        name = row[name_col].strip() if name_col < len(row) else ""
        if not name:
            if any(cell.strip() for cell in row):
                raise StudyError(f"{path}: rad {k} saknar kodnamn")
            continue
        raw_desc = row[desc_col] if desc_col is not None and desc_col < len(row) else ""
        description, examples, theme_id = parse_description(raw_desc)
        colour = row[colour_col].strip() if colour_col is not None and colour_col < len(row) else ""
        codes.append(Code(name=label_of(name, theme_id), description=description, examples=examples,
                          theme_id=theme_id, color=colour if COLOUR.fullmatch(colour) else None))
    if not codes:
        raise StudyError(f"{path}: inga koder i filen")
    return codes


def read_codes(path: Path) -> list[Code]:
    """A .qdc, a .qdpx (its codebook) or a Taguette-style .csv -> codes. Raises StudyError
    naming the file and the problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise StudyError(f"{path}: filen finns inte")
    if suffix not in (".qdpx", ".qdc", ".xml", ".qde", ".csv", ".tsv", ".txt"):
        raise StudyError(f"{path}: okänt kodboksformat '{suffix or '(ingen ändelse)'}'; "
                         "väntade .qdc (REFI-QDA), .qdpx eller .csv (kolumnerna name och description)")
    try:
        data = path.read_bytes()
    except OSError:
        raise StudyError(f"{path}: filen går inte att läsa (behörighet?)") from None
    if not data.strip():
        raise StudyError(f"{path}: filen är tom")
    if suffix == ".qdpx":
        try:
            with zipfile.ZipFile(path) as z:
                data = z.read("project.qde")
        except (zipfile.BadZipFile, KeyError):
            raise StudyError(f"{path}: inte ett REFI-projekt (.qdpx ska vara ett zip-arkiv med project.qde)") from None
        return codes_from_xml(_parse_xml(data, path), path)
    if suffix in (".qdc", ".xml", ".qde"):
        return codes_from_xml(_parse_xml(data, path), path)
    return codes_from_csv(data, path)


def import_codebook(path: Path, study_dir: Path) -> tuple[int, int]:
    """Codes from FILE into DIR/codebook.yaml as deductive themes. Returns (added, updated).
    The whole file is read before anything is written; codebook.yaml is replaced atomically."""
    codes = read_codes(path)
    study_dir = Path(study_dir)
    book_path = study_dir / cb.CODEBOOK_FILE
    book = cb.load(book_path) or cb.Codebook()
    raw = _raw_themes(book_path)
    described = _theme_descriptions(study_dir)
    by_id = book.by_id()
    by_guid = {guid("theme", t.id): t for t in book.themes}
    by_label = {t.label.casefold(): t for t in book.themes}
    names = [c.theme_id or c.name.casefold() for c in codes]      # two codes of one label differ by id
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise StudyError(f"{path}: kodnamnet '{dupes[0]}' finns flera gånger")
    added = updated = 0
    used = set(by_id)
    brought: dict[str, str] = {}                # theme id -> the colour its code brought
    claimed = {c.theme_id for c in codes if c.theme_id}
    for code in codes:
        theme = (by_id.get(code.theme_id) if code.theme_id else None) or by_guid.get(code.guid) \
            or _by_label(by_label, code, claimed)
        if theme is not None:
            # a theme found by discovery keeps no examples (its members define it) unless the
            # code brings its own; a description equal to the one narrativ gave is not copied
            deductive = bool(theme.examples) or theme.source == "codebook"
            theme.label = code.name
            if code.description != (theme.description or described.get(theme.id, "")):
                theme.description = code.description
            theme.examples = code.examples or (theme.examples if theme.examples else
                                               derived_examples(code.name, theme.description) if deductive else [])
            brought[theme.id] = code.color
            updated += 1
            continue
        tid = code.theme_id if code.theme_id and code.theme_id not in used else _new_id(used)
        used.add(tid)
        theme = cb.CodebookTheme(id=tid, label=code.name, description=code.description,
                                 examples=code.examples or derived_examples(code.name, code.description),
                                 source="codebook")
        book.themes.append(theme)
        by_id[tid] = theme
        brought[tid] = code.color
        added += 1
    skip = set(cb.USER_KEYS) | {"source", "auto_label"}
    for t in book.themes:
        t.info = {k: v for k, v in raw.get(t.id, {}).items() if k not in skip}
        _keep_colour(t, brought.get(t.id))
    study_dir.mkdir(parents=True, exist_ok=True)
    cb.save(book_path, book)
    return added, updated


def _by_label(by_label: dict, code: Code, claimed: set[str]):
    """The theme a code matches by label, unless another code in the file names that theme by
    its id ("Väntan" K07 does not take over "väntan" T05 when the file has T05 too)."""
    theme = by_label.get(code.name.casefold())
    return None if theme is None or (theme.id in claimed and theme.id != code.theme_id) else theme


def _keep_colour(theme, colour: str | None) -> None:
    """A code's colour becomes the theme's own (`color` in codebook.yaml) unless it is the
    theme's default colour; a code without a colour leaves the theme's colour as it was."""
    if not colour or not COLOUR.fullmatch(colour):
        return
    if colour.lower() == default_colour(theme.id):
        theme.info.pop("color", None)
    else:
        theme.info["color"] = colour.lower()


def _new_id(used: set[str]) -> str:
    n = 1
    while f"K{n:02d}" in used:
        n += 1
    return f"K{n:02d}"
