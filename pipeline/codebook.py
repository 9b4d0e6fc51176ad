"""codebook.yaml: the human-editable list of themes, read before and written after every
themes run.

Per theme (under `themes:`):
  id            stable id (keep it when renaming)
  label         the name shown in reports: edit it to rename
  description   one or two sentences (also used to assign segments to the theme)
  examples      phrases typical of the theme: a theme with examples is a *codebook* theme
                (deductive) and attracts segments by similarity
  pinned        segment ids shown first among the theme's quotes (and kept in the theme)
  merge_into    id of another theme: this one is merged into it on the next run
  split         a number N: this theme is split into N new themes on the next run
  exclude       true: the theme is dropped and its segments are left out
  keywords, size, respondents, source   written by narrativ for information
  color         a colour of its own (#rrggbb), kept from a code imported from a QDA tool
Top level:
  moves             {segment id: theme id}: move a segment to another theme
  exclude_segments  [segment ids]: leave these segments out of every theme
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import StudyError

CODEBOOK_FILE = "codebook.yaml"
HEADER = """\
# narrativ codebook: edit, then run `narrativ themes` again. Your edits are kept.
#   rename: change `label`                    merge: `merge_into: <id>` on the theme to merge away
#   split: `split: 2` on a theme              pin a quote: add its segment id to `pinned`
#   drop a theme: `exclude: true`             move a segment: `moves: {<segment id>: <theme id>}`
#   leave a segment out: add it to `exclude_segments`
#   add a theme of your own: a new entry with id, label, description and `examples`
# keywords, size, respondents, source, kind, concept, auto_label, merged_from and split_from are
# written by narrativ (merged_from/split_from: a theme you shaped keeps its members); a label that still equals auto_label is narrativ's own and may be renamed by it.
"""
SHAPING_KEYS = ("merged_from", "split_from")      # written by narrativ, read back: see CodebookTheme.shaped
# everything narrativ writes for information, read back and written again unchanged by every
# load + save (the page's edits, qdc imports): a save that dropped `split_from` undid a split
INFO_KEYS = ("kind", "concept", "keywords", "size", "respondents", *SHAPING_KEYS,
             "color")                         # a code's own colour, from a QDA tool (pipeline.qdc)
USER_KEYS = ("id", "label", "description", "examples", "pinned", "merge_into", "split", "exclude")


@dataclass
class CodebookTheme:
    id: str
    label: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    merge_into: str | None = None
    split: int | None = None
    exclude: bool = False
    source: str = "codebook"
    info: dict = field(default_factory=dict)       # keywords, size, respondents (written by us)
    auto_label: str | None = None                  # the label narrativ gave it (None: never named by us)

    @property
    def shaped(self) -> bool:
        """A person shaped this theme (merged others into it, or it is a part of a split): its
        members stay, and no shared concept merges it away."""
        return bool(self.info.get("merged_from") or self.info.get("split_from"))

    @property
    def user_label(self) -> str:
        """The label if a person chose it (or it is a codebook theme's own), else ""."""
        return "" if not self.label or self.label == self.auto_label else self.label


@dataclass
class Codebook:
    themes: list[CodebookTheme] = field(default_factory=list)
    moves: dict[str, str] = field(default_factory=dict)
    exclude_segments: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, CodebookTheme]:
        return {t.id: t for t in self.themes}


def _auto_label(raw: dict) -> str | None:
    """The label narrativ gave a theme: written as `auto_label`; codebooks from before concept
    labels had keyword labels made from `keywords`, which count as narrativ's too."""
    if raw.get("auto_label"):
        return str(raw["auto_label"])
    if raw.get("source") == "inductive" and raw.get("keywords"):
        from .represent import make_label
        if make_label([str(k) for k in raw["keywords"]]) == raw.get("label"):
            return str(raw["label"])
    return None


def load(path: Path) -> Codebook | None:
    import yaml
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (rad {mark.line + 1})" if mark else ""
        raise StudyError(f"{path}: kodboken går inte att läsa{where}: kontrollera indrag och kolon") from None
    if not isinstance(data, dict) or not isinstance(data.get("themes", []), list):
        raise StudyError(f"{path}: kodboken ska ha en lista 'themes:'")
    themes, seen = [], set()
    for i, raw in enumerate(data.get("themes") or [], start=1):
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("label"):
            raise StudyError(f"{path}: tema nr {i} saknar 'id' eller 'label'")
        tid = str(raw["id"])
        if tid in seen:
            raise StudyError(f"{path}: tema-id '{tid}' finns två gånger")
        seen.add(tid)
        split = raw.get("split")
        if split is not None and (not isinstance(split, int) or split < 2):
            raise StudyError(f"{path}: tema '{tid}': split ska vara ett heltal ≥ 2")
        themes.append(CodebookTheme(
            id=tid, label=str(raw["label"]), description=str(raw.get("description") or ""),
            examples=[str(x) for x in raw.get("examples") or []],
            pinned=[str(x) for x in raw.get("pinned") or []],
            merge_into=str(raw["merge_into"]) if raw.get("merge_into") else None,
            split=split, exclude=bool(raw.get("exclude", False)),
            source=str(raw.get("source") or ("codebook" if raw.get("examples") else "inductive")),
            auto_label=_auto_label(raw),
            info={k: raw[k] for k in INFO_KEYS if k in raw},
        ))
    ids = {t.id for t in themes}
    for t in themes:
        if t.merge_into and t.merge_into not in ids:
            raise StudyError(f"{path}: tema '{t.id}': merge_into '{t.merge_into}' finns inte")
    moves = {str(k): str(v) for k, v in (data.get("moves") or {}).items()}
    for seg, target in moves.items():
        if target not in ids:
            raise StudyError(f"{path}: moves: segment {seg} flyttas till okänt tema '{target}'")
    return Codebook(themes=themes, moves=moves,
                    exclude_segments=[str(x) for x in data.get("exclude_segments") or []])


def stale_references(book: Codebook, segments: set[str], documents: set[str], themed: set[str],
                     rediscover: bool = False) -> list[str]:
    """The user's placements that no longer apply, one sentence each (they stay in the codebook
    until the user removes them, and are said on every run):
    * a pinned, moved or left-out segment that no longer exists: its text changed (its
      document is still there) or it is gone;
    * a pin or move of a segment that is not themed (left out in exclude_segments, or of a kind
      not in [themes] kinds);
    * with --rediscover: pins in and moves to the inductive themes that run forgets."""
    from .stable_ids import document_of

    def missing(sid: str) -> str:
        if document_of(sid) in documents:
            return "texten har ändrats sedan dess (segmentet har fått ett nytt id)"
        return "segmentet finns inte längre (texten har ändrats eller tagits bort)"

    def why(sid: str) -> str | None:
        if sid not in segments:
            return missing(sid)
        if sid in book.exclude_segments:
            return "segmentet är uteslutet i exclude_segments"
        if sid not in themed:
            return "segmentet tematiseras inte (dess dokumenttyp finns inte i [themes] kinds)"
        return None

    forgotten = {t.id for t in book.themes if not (t.examples or t.source == "codebook")} if rediscover else set()
    out = []
    for t in book.themes:
        for sid in t.pinned:
            reason = "--rediscover tar bort temat" if t.id in forgotten else why(sid)
            if reason:
                out.append(f"tema {t.id} ({t.label}): fästningen av segment {sid} gäller inte längre – {reason}")
    for sid, tid in book.moves.items():
        reason = f"--rediscover tar bort tema {tid}" if tid in forgotten else why(sid)
        if reason:
            out.append(f"moves: flytten av segment {sid} till tema {tid} gäller inte längre – {reason}")
    for sid in book.exclude_segments:
        if sid not in segments:
            out.append(f"exclude_segments: uteslutningen av segment {sid} gäller inte längre – {missing(sid)}")
    return out


def save(path: Path, codebook: Codebook) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a codebook."""
    import yaml
    themes = []
    for t in codebook.themes:
        entry = {"id": t.id, "label": t.label}
        if t.description:
            entry["description"] = t.description
        if t.examples:
            entry["examples"] = t.examples
        if t.pinned:
            entry["pinned"] = t.pinned
        if t.merge_into:
            entry["merge_into"] = t.merge_into
        if t.split:
            entry["split"] = t.split
        if t.exclude:
            entry["exclude"] = True
        entry["source"] = t.source
        if t.auto_label:
            entry["auto_label"] = t.auto_label
        entry.update({k: v for k, v in t.info.items() if k not in entry})
        themes.append(entry)
    body = yaml.safe_dump({"themes": themes, "moves": codebook.moves or {},
                           "exclude_segments": codebook.exclude_segments or []},
                          allow_unicode=True, sort_keys=False, width=100)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(HEADER + body, encoding="utf-8")
    tmp.replace(path)
