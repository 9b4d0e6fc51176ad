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
    the same groups as code sets; each selection is coded with its theme by the user
    "narrativ" (the Description says how and with what similarity score);
  * one case per respondent (survey respondent, interview) with the attributes shared by all
    their documents as variables (team, form, year, role, …); every source carries its own
    attribute values (including the survey question) as variables too;
  * the drafted narrative (out/draft.json) as a project note.
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
from .qdc import NS_PROJECT, Code, code_element, colours, guid

QDE = "project.qde"
NARRATIV_USER = guid("user", "narrativ")
GROUPS = {"concept": "Teman med begreppsnamn", "new": "Nya teman (förslag)", "codebook": "Kodbokens teman"}
GROUP_DESCRIPTION = {
    "concept": "Teman som narrativ har namngett efter ett begrepp i begreppslexikonet.",
    "new": "Teman som inget begrepp passar: förslag att namnge eller slå ihop.",
    "codebook": "Teman ur kodboken (codebook.yaml), t.ex. importerade från ett annat program.",
}


def _draft_text(draft) -> str:
    lines = [draft.title, ""]
    for p in draft.paragraphs:
        lines += [p.text.replace("*", ""), f"[Källor: {', '.join(p.segment_ids)}]", ""]
    return "\n".join(lines).rstrip() + "\n"


def _variable_type(values: set[str]) -> str:
    def integer(v: str) -> bool:
        return v.lstrip("-").isdigit() and len(v) < 10 and str(int(v)) == v
    return "Integer" if values and all(integer(v) for v in values) else "Text"


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


def load(store, study_dir: Path) -> Material:
    from .grounding import Draft
    themes = store.themes()
    if not themes:
        raise StudyError(f"{study_dir}: inga teman ännu; kör 'narrativ themes' först")
    path = Path(study_dir) / "out" / "draft.json"
    draft = Draft.from_json(path.read_text(encoding="utf-8")) if path.exists() else None
    import json

    from . import counts as counting
    attributes = store.attributes()
    names = counting.names_in(attributes.values())                 # teams named once
    attributes = {d: counting.canonical(a, names) for d, a in attributes.items()}
    saved = json.loads(store.get_meta("themes_counts") or "{}")
    from . import config
    from .grounding import respondent_noun
    return Material(store.documents(), store.segments(), attributes, themes, store.assignments(), draft,
                    counts={t["id"]: t.get("voice_respondents", 0) for t in themes}, base=saved.get("participants", 0),
                    noun=respondent_noun(config.load(study_dir), saved.get("coverage", {})))


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


def build(m: Material, name: str) -> tuple[bytes, dict[str, str]]:
    """-> (project.qde, {archive path: text})."""
    from lxml import etree

    ns = NS_PROJECT

    def el(parent, tag, attrs=None, text=None):
        e = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in (attrs or {}).items() if v is not None})
        if text is not None:
            e.text = text
        return e

    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    root = etree.Element(f"{{{ns}}}Project", {"name": name, "origin": "narrativ", "creatingUserGUID": NARRATIV_USER,
                                              "creationDateTime": now}, nsmap={None: ns})
    users = el(root, "Users")
    el(users, "User", {"guid": NARRATIV_USER, "name": "narrativ", "id": "narrativ"})

    # codes: one parent (not codable) per kind of theme
    theme_guid = {t["id"]: guid("theme", t["id"]) for t in m.themes}
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for t in m.themes:
        by_kind[t.get("kind") if t.get("kind") in GROUPS else "new"].append(t)
    colour = colours([(t["id"], k) for k, ts in by_kind.items() for t in ts])
    codes = el(el(root, "CodeBook"), "Codes")
    for kind in GROUPS:
        if not by_kind.get(kind):
            continue
        parent = el(codes, "Code", {"guid": guid("group", kind), "name": GROUPS[kind], "isCodable": "false"})
        el(parent, "Description", text=GROUP_DESCRIPTION[kind])
        for t in by_kind[kind]:
            code_element(parent, Code(name=t["label"], description=t.get("description") or "", theme_id=t["id"],
                                      guid=theme_guid[t["id"]], color=colour[t["id"]], kind=kind), ns)

    # variables
    values: dict[str, set[str]] = defaultdict(set)
    for attrs in m.attributes.values():
        for k, v in attrs.items():
            values[k].add(v)
    var_type = {k: _variable_type(v) for k, v in values.items()}
    if values:
        variables = el(root, "Variables")
        for k in sorted(values):
            el(variables, "Variable", {"guid": guid("variable", k), "name": k, "typeOfVariable": var_type[k]})

    def variable_value(parent, key, value):
        vv = el(parent, "VariableValue")
        el(vv, "VariableRef", {"targetGUID": guid("variable", key)})
        if var_type[key] == "Integer":
            el(vv, "IntegerValue", text=str(int(value)))
        else:
            el(vv, "TextValue", text=value)

    # cases: one per respondent, with the attributes all their documents share
    docs_of: dict[str, list] = defaultdict(list)
    for d in m.documents:
        docs_of[d["respondent"] or d["id"]].append(d)
    cases = el(root, "Cases")
    for respondent, docs in docs_of.items():
        case = el(cases, "Case", {"guid": guid("case", respondent), "name": respondent})
        shared = dict(m.attributes.get(docs[0]["id"], {}))
        for d in docs[1:]:
            other = m.attributes.get(d["id"], {})
            shared = {k: v for k, v in shared.items() if other.get(k) == v}
        for k in sorted(shared):
            variable_value(case, k, shared[k])
        for d in docs:
            el(case, "SourceRef", {"targetGUID": guid("doc", d["id"])})

    # sources with their coded segments
    segments_of: dict[str, list] = defaultdict(list)
    for g in m.segments:
        segments_of[g["document_id"]].append(g)
    files: dict[str, str] = {}
    sources = el(root, "Sources")
    for d in m.documents:
        sg = guid("doc", d["id"])
        text = d["text"]
        src = el(sources, "TextSource", {"guid": sg, "name": f"{d['id']} {d['source_name']} ({d['locator']})",
                                         "plainTextPath": f"internal://{sg}.txt", "creatingUser": NARRATIV_USER})
        el(src, "Description", text=f"{d['kind']}: {d['source_name']}, {d['locator']}")
        files[f"sources/{sg}.txt"] = text
        for g in segments_of.get(d["id"], []):
            assigned = m.assignments.get(g["id"])
            if not assigned or assigned[0] not in theme_guid:
                continue
            start, end = g["start_char"], g["end_char"]
            if text[start:end] != g["text"]:
                raise StudyError(f"segment {g['id']}: positionerna stämmer inte med dokumentets text; "
                                 "kör 'narrativ segment' och 'narrativ themes' igen")
            tid, score, how = assigned
            sel = el(src, "PlainTextSelection", {"guid": guid("segment", g["id"]), "name": g["id"],
                                                 "startPosition": start, "endPosition": end,
                                                 "creatingUser": NARRATIV_USER})
            el(sel, "Description", text=f"narrativ: {how}" + (f", likhet {score:.3f}" if score is not None else ""))
            coding = el(sel, "Coding", {"guid": guid("coding", g["id"]), "creatingUser": NARRATIV_USER})
            el(coding, "CodeRef", {"targetGUID": theme_guid[tid]})
        for k, v in sorted(m.attributes.get(d["id"], {}).items()):
            variable_value(src, k, v)

    notes = el(root, "Notes")
    if m.draft is not None:
        note = el(notes, "Note", {"guid": guid("note", "draft"), "name": m.draft.title, "creatingUser": NARRATIV_USER})
        el(note, "Description", text=f"Utkast till narrativ berättelse ({m.draft.drafter}); stycken med källor "
                                     "(segment-id = urvalens namn).")
        el(note, "PlainTextContent", text=_draft_text(m.draft))
    from .counts import BASE_SENTENCE
    note = el(notes, "Note", {"guid": guid("note", "counts"), "name": "Antal per tema", "creatingUser": NARRATIV_USER})
    el(note, "Description", text=BASE_SENTENCE.format(base=m.base, noun=m.noun))
    el(note, "PlainTextContent", text="\n".join(
        [BASE_SENTENCE.format(base=m.base, noun=m.noun), ""] + [f"{t['label']}: {m.counts.get(t['id'], 0)} av {m.base} {m.noun}"
                                                   for t in m.themes]) + "\n")

    sets = el(root, "Sets")
    for kind in GROUPS:
        if by_kind.get(kind):
            s = el(sets, "Set", {"guid": guid("set", kind), "name": GROUPS[kind]})
            el(s, "Description", text=GROUP_DESCRIPTION[kind])
            for t in by_kind[kind]:
                el(s, "MemberCode", {"targetGUID": theme_guid[t["id"]]})
    el(root, "Description", text="Exporterat från narrativ: pseudonymiserade källor, teman som koder och "
                                 "kodade segment som textmarkeringar.")
    if m.draft is not None:
        el(root, "NoteRef", {"targetGUID": guid("note", "draft")})
    el(root, "NoteRef", {"targetGUID": guid("note", "counts")})
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True), files


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

        def source_text(src) -> str:
            content = _child_text(src, "PlainTextContent")
            if content is not None:
                return content
            ref = src.get("plainTextPath") or ""
            if ref.startswith("internal://"):
                member = names.get(("sources/" + ref[len("internal://"):]).lower())
                if member:
                    return z.read(member).decode("utf-8-sig")
            raise StudyError(f"{path}: källan '{src.get('name')}' har ingen text i arkivet ({ref or 'ingen sökväg'})")

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
        sources = []
        for group in _children(root, "Sources"):
            for src in _children(group, "TextSource"):
                s = Source(src.get("guid"), src.get("name") or "", source_text(src), variables=values_of(src))
                for sel in _children(src, "PlainTextSelection"):
                    try:
                        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                    except (TypeError, ValueError):
                        raise StudyError(f"{path}: markeringen '{sel.get('name')}' (rad {sel.sourceline}) saknar "
                                         "giltiga positioner") from None
                    codings = [(next(iter(_children(c, "CodeRef"))).get("targetGUID"), c.get("creatingUser") or "")
                               for c in _children(sel, "Coding") if _children(c, "CodeRef")]
                    s.selections.append(Selection(sel.get("guid"), sel.get("name") or "", start, end, codings))
                sources.append(s)
        cases = [{"guid": c.get("guid"), "name": c.get("name") or "", "variables": values_of(c),
                  "sources": [r.get("targetGUID") for r in _children(c, "SourceRef")]}
                 for cs in _children(root, "Cases") for c in _children(cs, "Case")]
        notes = [{"guid": n.get("guid"), "name": n.get("name") or "", "text": _child_text(n, "PlainTextContent") or ""}
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
