"""REFI-QDA project export (`.qdpx`, QDA-XML 1.0) for NVivo, ATLAS.ti, MAXQDA and QualCoder,
and a reader for such projects (ours, or one coded in another tool).

The archive DIR/out/narrativ.qdpx holds `project.qde` and `sources/<guid>.txt`:
  * one plain-text source per stored document (survey answer, quote, interview, report
    section): its pseudonymised text exactly as stored, UTF-8, referred to as
    `internal://<guid>.txt`. Segments have character offsets into that text, so every coded
    segment is a PlainTextSelection whose start/end positions cut it out exactly. Positions
    count characters as Unicode code points from 0, end exclusive (the standard's character
    positions; Python string indices);
  * the themes as codes (label, description, colour), under one non-codable parent code per
    kind — themes named by a concept, new (proposed) themes, the codebook's own themes — and
    the same groups as code sets; code names are unique in the project (a second theme with
    the same label gets its id after it). Each selection is coded with its theme by the user
    "narrativ" (the Description says how and with what similarity score);
  * one case per respondent (survey respondent, interview) with the attributes shared by all
    their documents as case variables ("team (fall)": named and identified apart from the
    sources' variables, which tools such as QualCoder keep by name), its sources by SourceRef
    and (setting [qdpx] case_codes) as a code of the same guid over their whole text, the way
    NVivo writes cases and QualCoder reads them; every source carries its own attribute values
    (including the survey question) as variables too;
  * the drafted narrative (out/draft.json) and the counts per theme as notes, their text in
    `sources/<guid>.txt` by plainTextPath (QualCoder imports them as journals);
  * every source, selection, coding and note with the standard's creatingUser and
    creationDateTime (sources: when their file was read in; codings: the last themes run).
The export goes through the privacy gate first, like every export.
"""
from __future__ import annotations

import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import gate
from .errors import StudyError
from .qdc import GROUP_DESCRIPTION, GROUPS, NS_PROJECT, Code, code_element, colours, guid, unique_names

QDE = "project.qde"
NARRATIV = "narrativ"                                # our coder's name (agreement knows it by name too)
NARRATIV_USER = guid("user", NARRATIV)
CASE_GROUP = "Fall (svarande och intervjuer)"      # the parent code of the cases (see case_codes)
CASE_VARIABLE = "{key} (fall)"                     # a case's variable, named apart from the sources'


def case_variable(key: str) -> str:
    return CASE_VARIABLE.format(key=key)


def _draft_text(draft) -> str:
    lines = [draft.title, ""]
    for p in draft.paragraphs:
        lines += [p.text.replace("*", ""), f"[Källor: {', '.join(p.segment_ids)}]", ""]
    return "\n".join(lines).rstrip() + "\n"


def _variable_type(values: set[str]) -> str:
    def integer(v: str) -> bool:
        return v.lstrip("-").isdigit() and len(v) < 10 and str(int(v)) == v
    return "Integer" if values and all(integer(v) for v in values) else "Text"


def stamp(value: str | None = None) -> str:
    """A time for the standard's creationDateTime: UTC, whole seconds, "Z" (as the standard's
    examples; QualCoder stores it after removing "T" and "Z")."""
    when = datetime.fromisoformat(value) if value else datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Material:
    """What the project is built from (read once from the store)."""
    documents: list            # store rows
    segments: list             # store rows
    attributes: dict           # document id -> {key: value}
    themes: list[dict]
    assignments: dict          # segment id -> (theme id, score, how)
    draft: object | None
    counts: dict = field(default_factory=dict)     # theme id -> its one count (pipeline.counts)
    base: int = 0                                   # the participants the counts are of
    noun: str = "deltagare"                         # what they are called (grounding.respondent_noun)
    times: dict = field(default_factory=dict)       # "themes", "draft": when; "doc:<id>": when ingested
    own_colours: dict = field(default_factory=dict) # theme id -> its own colour (codebook.yaml)
    settings: dict = field(default_factory=dict)    # [qdpx] of study.toml


def _times(store, study_dir: Path) -> dict:
    """When the codings (the last themes run), the draft and each document's source were made."""
    out = {}
    for stage in ("themes", "draft"):
        row = store.conn.execute("SELECT finished FROM runs WHERE stage = ? AND status = 'ok' "
                                 "ORDER BY id DESC LIMIT 1", (stage,)).fetchone()
        if row and row[0]:
            out[stage] = row[0]
    ingested = {s["id"]: s["ingested_at"] for s in store.sources()}
    for d in store.documents():
        if ingested.get(d["source_id"]):
            out[f"doc:{d['id']}"] = ingested[d["source_id"]]
    return out


def load(store, study_dir: Path) -> Material:
    from .grounding import Draft
    themes = store.themes()
    if not themes:
        raise StudyError(f"{study_dir}: inga teman ännu; kör 'narrativ themes' först")
    path = Path(study_dir) / "out" / "draft.json"
    draft = Draft.from_json(path.read_text(encoding="utf-8")) if path.exists() else None
    import json

    from . import codebook as cb
    from . import config
    from . import counts as counting
    from .grounding import respondent_noun
    from .qdc import _raw_themes
    attributes = store.attributes()
    names = counting.names_in(attributes.values())                 # teams named once
    attributes = {d: counting.canonical(a, names) for d, a in attributes.items()}
    saved = json.loads(store.get_meta("themes_counts") or "{}")
    cfg = config.load(study_dir)
    own = {tid: t.get("color") for tid, t in _raw_themes(Path(study_dir) / cb.CODEBOOK_FILE).items()}
    return Material(store.documents(), store.segments(), attributes, themes, store.assignments(), draft,
                    counts={t["id"]: t.get("voice_respondents", 0) for t in themes}, base=saved.get("participants", 0),
                    noun=respondent_noun(cfg, saved.get("coverage", {})), times=_times(store, study_dir),
                    own_colours=own, settings=dict(cfg.get("qdpx", {})))


def privacy_items(m: Material):
    for d in m.documents:
        yield f"dokument {d['id']}", d["text"]          # titles are not exported (attributes carry them)
    for doc_id, attrs in m.attributes.items():
        for k, v in attrs.items():
            yield f"dokument {doc_id} ({k})", v
    for t in m.themes:
        yield f"tema {t['id']}", f"{t['label']}. {t.get('description') or ''}"
    if m.draft is not None:
        for k, p in enumerate(m.draft.paragraphs, start=1):
            yield f"stycke {k}", p.text


class _Writer:
    """Builds project.qde from a Material: one method per part of the project."""

    def __init__(self, m: Material):
        self.m = m
        self.files: dict[str, str] = {}
        self.coded_at = stamp(m.times.get("themes"))
        self.case_codes = bool(m.settings.get("case_codes", True))
        self.theme_guid = {t["id"]: guid("theme", t["id"]) for t in m.themes}
        self.docs_of: dict[str, list] = defaultdict(list)
        for d in m.documents:
            self.docs_of[d["respondent"] or d["id"]].append(d)
        self.case_of = {d["id"]: r for r, docs in self.docs_of.items() for d in docs}

    def el(self, parent, tag, attrs=None, text=None):
        from lxml import etree
        e = etree.SubElement(parent, f"{{{NS_PROJECT}}}{tag}",
                             {k: str(v) for k, v in (attrs or {}).items() if v is not None})
        if text is not None:
            e.text = text
        return e

    def made(self, when: str | None = None) -> dict:
        """The standard's creating user and creation time of an element."""
        return {"creatingUser": NARRATIV_USER, "creationDateTime": when or self.coded_at}

    def users(self, root):
        users = self.el(root, "Users")
        coder = str(self.m.settings.get("coder") or "").strip()
        if coder and coder.casefold() != NARRATIV:
            # QualCoder takes the first user's name as the name of whoever codes on
            self.el(users, "User", {"guid": guid("user", coder), "name": coder})
        self.el(users, "User", {"guid": NARRATIV_USER, "name": NARRATIV, "id": NARRATIV})

    def codebook(self, root):
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for t in self.m.themes:
            by_kind[t.get("kind") if t.get("kind") in GROUPS else "new"].append(t)
        self.by_kind = by_kind
        taken = {n.casefold() for n in GROUPS.values()} | {CASE_GROUP.casefold()}
        ordered = [t for kind in GROUPS for t in by_kind.get(kind, [])]
        self.names = unique_names([(t["id"], t["label"]) for t in ordered], taken)
        colour = colours([t["id"] for t in ordered], self.m.own_colours)
        codes = self.el(self.el(root, "CodeBook"), "Codes")
        for kind in GROUPS:
            if by_kind.get(kind):
                parent = self.el(codes, "Code", {"guid": guid("group", kind), "name": GROUPS[kind], "isCodable": "false"})
                self.el(parent, "Description", text=GROUP_DESCRIPTION[kind])
                for t in by_kind[kind]:
                    code_element(parent, Code(name=self.names[t["id"]], description=t.get("description") or "",
                                              theme_id=t["id"], guid=self.theme_guid[t["id"]], color=colour[t["id"]],
                                              kind=kind), NS_PROJECT)
        if self.case_codes:
            self._case_codes(codes, taken)

    def _case_codes(self, codes, taken: set[str]):
        """NVivo's convention, the one way QualCoder links a case to its files: a code with the
        case's guid, coding the whole text of each of its sources (QualCoder turns it into the
        case's file links and removes the code)."""
        parent = self.el(codes, "Code", {"guid": guid("group", "cases"), "name": CASE_GROUP, "isCodable": "false"})
        self.el(parent, "Description", text="Ett fall per svarande eller intervju, som kod över hela dess källor "
                                            "(så länkar QualCoder och NVivo fall till filer).")
        self.case_names = unique_names([(r, r) for r in self.docs_of], taken)
        for respondent in self.docs_of:
            self.el(parent, "Code", {"guid": guid("case", respondent), "name": self.case_names[respondent],
                                     "isCodable": "true"})

    def variables(self, root):
        values: dict[str, set[str]] = defaultdict(set)
        for attrs in self.m.attributes.values():
            for k, v in attrs.items():
                values[k].add(v)
        self.var_type = {k: _variable_type(v) for k, v in values.items()}
        self.shared = {r: self._shared(docs) for r, docs in self.docs_of.items()}
        case_keys = sorted({k for attrs in self.shared.values() for k in attrs})
        if not values:
            return
        variables = self.el(root, "Variables")
        for k in sorted(values):
            self.el(variables, "Variable", {"guid": guid("variable", k), "name": k, "typeOfVariable": self.var_type[k]})
        for k in case_keys:
            self.el(variables, "Variable", {"guid": guid("variable", f"case:{k}"), "name": case_variable(k),
                                            "typeOfVariable": self.var_type[k]})

    def _shared(self, docs) -> dict[str, str]:
        shared = dict(self.m.attributes.get(docs[0]["id"], {}))
        for d in docs[1:]:
            other = self.m.attributes.get(d["id"], {})
            shared = {k: v for k, v in shared.items() if other.get(k) == v}
        return shared

    def value(self, parent, key, value, ref):
        vv = self.el(parent, "VariableValue")
        self.el(vv, "VariableRef", {"targetGUID": ref})
        if self.var_type[key] == "Integer":
            self.el(vv, "IntegerValue", text=str(int(value)))
        else:
            self.el(vv, "TextValue", text=value)

    def cases(self, root):
        """One case per respondent: the attributes all their documents share, their sources."""
        cases = self.el(root, "Cases")
        for respondent, docs in self.docs_of.items():
            case = self.el(cases, "Case", {"guid": guid("case", respondent), "name": respondent})
            if self.case_codes:
                self.el(case, "CodeRef", {"targetGUID": guid("case", respondent)})
            for k, v in sorted(self.shared[respondent].items()):
                self.value(case, k, v, guid("variable", f"case:{k}"))
            for d in docs:
                self.el(case, "SourceRef", {"targetGUID": guid("doc", d["id"])})

    def sources(self, root):
        segments_of: dict[str, list] = defaultdict(list)
        for g in self.m.segments:
            segments_of[g["document_id"]].append(g)
        sources = self.el(root, "Sources")
        for d in self.m.documents:
            sg = guid("doc", d["id"])
            src = self.el(sources, "TextSource", {"guid": sg, "name": f"{d['id']} {d['source_name']} ({d['locator']})",
                                                  "plainTextPath": f"internal://{sg}.txt",
                                                  **self.made(stamp(self.m.times.get(f"doc:{d['id']}")))})
            self.el(src, "Description", text=f"{d['kind']}: {d['source_name']}, {d['locator']}")
            self.files[f"sources/{sg}.txt"] = d["text"]
            for g in segments_of.get(d["id"], []):
                self._selection(src, d, g)
            if self.case_codes:
                self._case_selection(src, d)
            for k, v in sorted(self.m.attributes.get(d["id"], {}).items()):
                self.value(src, k, v, guid("variable", k))

    def _selection(self, src, d, g):
        assigned = self.m.assignments.get(g["id"])
        if not assigned or assigned[0] not in self.theme_guid:
            return
        start, end = g["start_char"], g["end_char"]
        if d["text"][start:end] != g["text"]:
            raise StudyError(f"segment {g['id']}: positionerna stämmer inte med dokumentets text; "
                             "kör 'narrativ segment' och 'narrativ themes' igen")
        tid, score, how = assigned
        sel = self.el(src, "PlainTextSelection", {"guid": guid("segment", g["id"]), "name": g["id"],
                                                  "startPosition": start, "endPosition": end, **self.made()})
        self.el(sel, "Description", text=f"narrativ: {how}" + (f", likhet {score:.3f}" if score is not None else ""))
        coding = self.el(sel, "Coding", {"guid": guid("coding", g["id"]), **self.made()})
        self.el(coding, "CodeRef", {"targetGUID": self.theme_guid[tid]})

    def _case_selection(self, src, d):
        respondent = self.case_of[d["id"]]
        sel = self.el(src, "PlainTextSelection", {"guid": guid("case-selection", d["id"]), "name": f"fall: {respondent}",
                                                  "startPosition": 0, "endPosition": len(d["text"]), **self.made()})
        coding = self.el(sel, "Coding", {"guid": guid("case-coding", d["id"]), **self.made()})
        self.el(coding, "CodeRef", {"targetGUID": guid("case", respondent)})

    def notes(self, root) -> list[str]:
        """The draft and the counts as notes, their text in sources/<guid>.txt (plainTextPath:
        QualCoder reads a note's text only from there, as a journal)."""
        from .counts import BASE_SENTENCE
        m, notes, refs = self.m, self.el(root, "Notes"), []
        base = BASE_SENTENCE.format(base=m.base, noun=m.noun)
        if m.draft is not None:
            refs.append(self._note(notes, "draft", m.draft.title or "Narrativ berättelse",
                                   f"Utkast till narrativ berättelse ({m.draft.drafter}); stycken med källor "
                                   "(segment-id = urvalens namn).", _draft_text(m.draft), m.times.get("draft")))
        counts = "\n".join([base, ""] + [f"{t['label']}: {m.counts.get(t['id'], 0)} av {m.base} {m.noun}"
                                         for t in m.themes]) + "\n"
        refs.append(self._note(notes, "counts", "Antal per tema", base, counts, m.times.get("themes")))
        return refs

    def _note(self, notes, key, name, description, text, when) -> str:
        ng = guid("note", key)
        note = self.el(notes, "Note", {"guid": ng, "name": name, "plainTextPath": f"internal://{ng}.txt",
                                       **self.made(stamp(when) if when else None)})
        self.el(note, "Description", text=description)
        self.files[f"sources/{ng}.txt"] = text
        return ng

    def sets(self, root):
        sets = self.el(root, "Sets")
        for kind in GROUPS:
            if self.by_kind.get(kind):
                s = self.el(sets, "Set", {"guid": guid("set", kind), "name": GROUPS[kind]})
                self.el(s, "Description", text=GROUP_DESCRIPTION[kind])
                for t in self.by_kind[kind]:
                    self.el(s, "MemberCode", {"targetGUID": self.theme_guid[t["id"]]})


def build(m: Material, name: str) -> tuple[bytes, dict[str, str]]:
    """-> (project.qde, {archive path: text})."""
    from lxml import etree
    w = _Writer(m)
    root = etree.Element(f"{{{NS_PROJECT}}}Project", {"name": name, "origin": "narrativ", "creatingUserGUID": NARRATIV_USER,
                                                      "creationDateTime": w.coded_at}, nsmap={None: NS_PROJECT})
    w.users(root)
    w.codebook(root)
    w.variables(root)
    w.cases(root)
    w.sources(root)
    refs = w.notes(root)
    w.sets(root)
    w.el(root, "Description", text="Exporterat från narrativ: pseudonymiserade källor, teman som koder och "
                                   "kodade segment som textmarkeringar.")
    for ref in refs:
        w.el(root, "NoteRef", {"targetGUID": ref})
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True), w.files


def write(path: Path, qde: bytes, files: dict[str, str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(QDE, qde)
        for name, text in files.items():
            z.writestr(name, text.encode("utf-8"))
    tmp.replace(path)
    return path


def export(store, cfg: dict, study_dir: Path, allow_identifying: bool = False) -> Path:
    """DIR/out/narrativ.qdpx, through the privacy gate."""
    study_dir = Path(study_dir)
    m = load(store, study_dir)
    gate.check(store, cfg, privacy_items(m), allow=allow_identifying, what="REFI-exporten")
    qde, files = build(m, study_dir.resolve().name)
    path = write(study_dir / "out" / "narrativ.qdpx", qde, files)
    store.log_run("export", "ok", {"files": [path.name], "sources": len(files)})
    return path


# -- reading a project ------------------------------------------------------------------------

@dataclass
class Selection:
    guid: str
    name: str
    start: int
    end: int
    codings: list[tuple[str, str]] = field(default_factory=list)     # (code guid, creating user guid)


@dataclass
class Source:
    guid: str
    name: str
    text: str
    selections: list[Selection] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class ProjectCode:
    guid: str
    name: str
    description: str
    codable: bool
    parent: str | None
    color: str | None


@dataclass
class Project:
    name: str
    codes: dict[str, ProjectCode]
    sources: list[Source]
    cases: list[dict]                  # {guid, name, variables, sources}
    notes: list[dict]                  # {guid, name, text}
    sets: list[dict]                   # {guid, name, codes}
    users: dict[str, str]              # guid -> name


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el, name):
    return [c for c in el if _local(c.tag) == name]


def _child_text(el, name) -> str | None:
    c = next(iter(_children(el, name)), None)
    return c.text or "" if c is not None else None


def _selection(sel, path: Path) -> Selection:
    try:
        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
    except (TypeError, ValueError):
        raise StudyError(f"{path}: markeringen '{sel.get('name')}' (rad {sel.sourceline}) saknar "
                         "giltiga positioner") from None
    codings = [(next(iter(_children(c, "CodeRef"))).get("targetGUID"), c.get("creatingUser") or sel.get("creatingUser") or "")
               for c in _children(sel, "Coding") if _children(c, "CodeRef")]
    return Selection(sel.get("guid"), sel.get("name") or "", start, end, codings)


def read(path: Path) -> Project:
    """Read a .qdpx (ours or another tool's): codes, sources with their text and selections,
    cases with variables, notes, sets. Raises StudyError naming the file and the problem."""
    from .qdc import _parse_xml
    path = Path(path)
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        raise StudyError(f"{path}: inte ett REFI-projekt (.qdpx ska vara ett zip-arkiv med project.qde)") from None
    with z:
        qde = next((n for n in z.namelist() if n.lower().endswith(".qde")), None)
        if qde is None:
            raise StudyError(f"{path}: arkivet saknar project.qde")
        root = _parse_xml(z.read(qde), path)
        if _local(root.tag) != "Project":
            raise StudyError(f"{path}: project.qde har rotelementet '{_local(root.tag)}', väntade 'Project'")
        names = {n.lower(): n for n in z.namelist()}

        def member_text(ref: str) -> str | None:
            if ref.startswith("internal://"):
                member = names.get(("sources/" + ref[len("internal://"):]).lower())
                if member:
                    return z.read(member).decode("utf-8-sig")
            return None

        def source_text(src) -> str:
            content = _child_text(src, "PlainTextContent")
            if content is not None:
                return content
            ref = src.get("plainTextPath") or ""
            text = member_text(ref)
            if text is None:
                raise StudyError(f"{path}: källan '{src.get('name')}' har ingen text i arkivet ({ref or 'ingen sökväg'})")
            return text

        variables = {v.get("guid"): v.get("name") for vs in _children(root, "Variables") for v in _children(vs, "Variable")}

        def values_of(el) -> dict[str, str]:
            out = {}
            for vv in _children(el, "VariableValue"):
                ref = next(iter(_children(vv, "VariableRef")), None)
                value = next((c.text or "" for c in vv if _local(c.tag) != "VariableRef"), "")
                if ref is not None and ref.get("targetGUID") in variables:
                    out[variables[ref.get("targetGUID")]] = value
            return out

        codes: dict[str, ProjectCode] = {}

        def walk(el, parent=None):
            for c in _children(el, "Code"):
                codes[c.get("guid")] = ProjectCode(c.get("guid"), c.get("name") or "", _child_text(c, "Description") or "",
                                                   (c.get("isCodable") or "true").lower() not in ("false", "0"),
                                                   parent, c.get("color"))
                walk(c, c.get("guid"))

        for book in _children(root, "CodeBook"):
            for cs in _children(book, "Codes"):
                walk(cs)
        case_guids = {c.get("guid") for cs in _children(root, "Cases") for c in _children(cs, "Case")}
        case_files: dict[str, list[str]] = defaultdict(list)
        for g in case_guids & set(codes):            # a case's own code (NVivo's convention): not a code
            del codes[g]
        sources = []
        for group in _children(root, "Sources"):
            for src in _children(group, "TextSource"):
                s = Source(src.get("guid"), src.get("name") or "", source_text(src), variables=values_of(src))
                for sel in _children(src, "PlainTextSelection"):
                    selection = _selection(sel, path)
                    for code, _user in selection.codings:
                        if code in case_guids:
                            case_files[code].append(s.guid)
                    selection.codings = [c for c in selection.codings if c[0] not in case_guids]
                    if selection.codings or not _children(sel, "Coding"):
                        s.selections.append(selection)
                sources.append(s)
        cases = [{"guid": c.get("guid"), "name": c.get("name") or "", "variables": values_of(c),
                  "sources": list(dict.fromkeys([r.get("targetGUID") for r in _children(c, "SourceRef")]
                                                + case_files.get(c.get("guid"), [])))}
                 for cs in _children(root, "Cases") for c in _children(cs, "Case")]
        notes = [{"guid": n.get("guid"), "name": n.get("name") or "",
                  "text": _child_text(n, "PlainTextContent") or member_text(n.get("plainTextPath") or "") or ""}
                 for ns_ in _children(root, "Notes") for n in _children(ns_, "Note")]
        sets = [{"guid": s.get("guid"), "name": s.get("name") or "",
                 "codes": [r.get("targetGUID") for r in _children(s, "MemberCode")]}
                for ss in _children(root, "Sets") for s in _children(ss, "Set")]
        users = {u.get("guid"): u.get("name") or "" for us in _children(root, "Users") for u in _children(us, "User")}
    return Project(root.get("name") or "", codes, sources, cases, notes, sets, users)


def document_id(source: Source, known: dict[str, str]) -> str | None:
    """Which stored document a project source is: by our guid, by the id our source names start
    with, or by identical text. `known`: guid -> document id, plus 'text:<text>' -> id."""
    if source.guid and source.guid.strip("{}").lower() in known:
        return known[source.guid.strip("{}").lower()]
    head = source.name.split(" ", 1)[0]
    if head in known.values():
        return head
    return known.get("text:" + source.text)


def known_documents(store) -> dict[str, str]:
    out = {}
    for d in store.documents():
        out[guid("doc", d["id"])] = d["id"]
        out.setdefault("text:" + d["text"], d["id"])
    return out


def summary(project: Project) -> dict:
    """Counts for a quick look (and the round-trip tests)."""
    n_sel = sum(len(s.selections) for s in project.sources)
    return {"sources": len(project.sources), "codes": sum(c.codable for c in project.codes.values()),
            "selections": n_sel, "cases": len(project.cases), "notes": len(project.notes),
            "sets": {s["name"]: len(s["codes"]) for s in project.sets}}


__all__ = ["export", "read", "build", "load", "Project", "Source", "Selection", "summary", "document_id",
           "known_documents", "NARRATIV_USER"]
