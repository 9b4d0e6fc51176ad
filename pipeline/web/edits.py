"""Edits made on the page, written where a person editing by hand would write them: theme edits
to DIR/codebook.yaml (through pipeline.codebook, the fields its header documents) and the
deny/keep lists to [privacy] in DIR/study.toml (with tomlkit, so comments and layout stay)."""
from __future__ import annotations

from pathlib import Path

from .. import codebook as cb
from .. import config
from ..errors import NarrativError

WRITTEN_BY_US = {"kind", "concept", "keywords", "size", "respondents", "merged_from"}


def _load(study: Path) -> tuple[Path, cb.Codebook]:
    path = study / cb.CODEBOOK_FILE
    book = cb.load(path)
    if book is None:
        raise NarrativError("det finns inga teman ännu: kör teman först")
    # load() keeps the user's fields; keep narrativ's informational ones too, as a hand edit would
    import yaml
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    info = {str(t.get("id")): {k: v for k, v in t.items() if k in WRITTEN_BY_US} for t in raw.get("themes") or []}
    for t in book.themes:
        t.info = info.get(t.id, {})
        t.info.update({k: v for k, v in (("merge_into", t.merge_into), ("split", t.split)) if v})
    return path, book


def _theme(book: cb.Codebook, theme_id: str) -> cb.CodebookTheme:
    theme = book.by_id().get(theme_id)
    if theme is None:
        raise NarrativError(f"temat '{theme_id[:20]}' finns inte (längre) i kodboken; ladda om sidan")
    return theme


def edit_theme(study: Path, action: str, theme_id: str, value: str = "", segment_id: str = "") -> str:
    """Apply one edit; returns a Swedish sentence saying what was changed."""
    path, book = _load(study)
    theme = _theme(book, theme_id)
    if action == "rename":
        label = " ".join((value or "").split())
        if not label or len(label) > 120:
            raise NarrativError("ett temanamn ska ha 1–120 tecken")
        old, theme.label = theme.label, label
        done = f"Temat '{old}' heter nu '{label}'."
    elif action == "merge":
        target = _theme(book, value)
        if target.id == theme.id:
            raise NarrativError("ett tema kan inte slås ihop med sig självt")
        theme.merge_into = target.id
        theme.info["merge_into"] = target.id      # codebook.save writes only settled fields; info is written as is
        done = f"Temat '{theme.label}' slås ihop med '{target.label}'."
    elif action == "split":
        theme.split = 2
        theme.info["split"] = 2
        done = f"Temat '{theme.label}' delas i två."
    elif action == "exclude":
        theme.exclude = True
        done = f"Temat '{theme.label}' tas bort ur analysen."
    elif action == "include":
        theme.exclude = False
        done = f"Temat '{theme.label}' tas med igen."
    elif action == "move":
        target = _theme(book, value)
        if not segment_id:
            raise NarrativError("inget citat angavs")
        book.moves[segment_id] = target.id
        theme.pinned = [s for s in theme.pinned if s != segment_id]
        done = f"Citatet flyttas till temat '{target.label}'."
    elif action == "pin":
        if not segment_id:
            raise NarrativError("inget citat angavs")
        theme.pinned = [segment_id] + [s for s in theme.pinned if s != segment_id]
        done = f"Citatet visas först bland citaten i '{theme.label}'."
    else:
        raise NarrativError(f"okänd ändring '{action[:20]}'")
    cb.save(path, book)
    return done


def privacy_word(study: Path, word: str, where: str) -> str:
    """Put `word` on [privacy] deny (always a name) or keep (never a name) in study.toml, and off
    the other list."""
    import tomlkit
    word = (word or "").strip()
    if where not in ("deny", "keep"):
        raise NarrativError("välj 'namn' eller 'inte ett namn'")
    if not word or len(word) > 60 or any(c in word for c in "\n\r\"\\"):
        raise NarrativError("ordet går inte att lägga till")
    path = study / config.STUDY_FILE
    config.write_default(study)
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    if "privacy" not in doc:
        doc["privacy"] = tomlkit.table()
    table = doc["privacy"]
    other = "keep" if where == "deny" else "deny"
    for key in (where, other):
        if key not in table:
            table[key] = tomlkit.array()
    if word not in table[where]:
        table[where].append(word)
    for i in reversed([i for i, w in enumerate(table[other]) if w == word]):
        del table[other][i]
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.replace(path)
    return (f"'{word}' behandlas nu alltid som ett namn" if where == "deny"
            else f"'{word}' behandlas nu aldrig som ett namn") + " (study.toml, [privacy]); filerna läses in igen."
