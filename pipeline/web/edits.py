"""Edits made on the page, written where a person editing by hand would write them: theme edits
to DIR/codebook.yaml (through pipeline.codebook, the fields its header documents) and the
deny/keep lists to [privacy] in DIR/study.toml (with tomlkit, so comments and layout stay)."""
from __future__ import annotations

from pathlib import Path

from .. import codebook as cb
from .. import config
from ..errors import NarrativError

WRITTEN_BY_US = set(cb.INFO_KEYS)      # narrativ's informational fields: kept by every edit


def _load(study: Path) -> tuple[Path, cb.Codebook]:
    path = study / cb.CODEBOOK_FILE
    book = cb.load(path)              # the user's fields and narrativ's (cb.INFO_KEYS), as a hand edit keeps them
    if book is None:
        raise NarrativError("det finns inga teman ännu: kör teman först")
    return path, book


def _theme(book: cb.Codebook, theme_id: str) -> cb.CodebookTheme:
    theme = book.by_id().get(theme_id)
    if theme is None:
        raise NarrativError(f"temat '{theme_id[:20]}' finns inte (längre) i kodboken; ladda om sidan")
    return theme


def likely_not_a_name(word: str) -> bool:
    """Pronouns and function words that stand capitalised first in a sentence (Jag, Det, De,
    Nu, Tack, Alla …): kept out of the review list the page shows (spaCy's Swedish stop words,
    and a few words of courtesy)."""
    from spacy.lang.sv.stop_words import STOP_WORDS
    w = word.casefold()
    return w in STOP_WORDS or w in {"tack", "hej", "ja", "nej", "okej", "ok", "mvh", "bra", "väldigt"}


def theme_by_name(study: Path, name: str, action: str) -> str:
    """The id of the theme a person chose by its name (or id) in the page's theme search."""
    name = " ".join((name or "").split())
    verb = "flytta citatet till" if action == "move" else "slå ihop med"
    if not name:
        raise NarrativError(f"Välj vilket tema du vill {verb}: skriv några bokstäver av namnet och välj i listan.")
    _, book = _load(study)
    for t in book.themes:
        if not t.exclude and not t.merge_into and (t.id == name or t.label.casefold() == name.casefold()):
            return t.id
    raise NarrativError(f"Det finns inget tema som heter '{name[:80]}'. Välj ett tema i listan.")


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
        if target.label and target.label == target.auto_label:
            # the person chose the target by its name: the merged theme keeps it (else narrativ
            # would name the larger theme anew, and 'slå ihop med X' would give a theme called Y)
            target.auto_label = None
        done = f"Temat '{theme.label}' slås ihop med '{target.label}'."
    elif action == "split":
        theme.split = 2
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
            else f"'{word}' behandlas nu aldrig som ett namn") + "; sparat i studiens inställningar, filerna läses in igen."


# -- undo -------------------------------------------------------------------------------------
# Before every edit the page makes, what the edit changes is saved in DIR/.narrativ-undo/: the
# codebook and the last themes run (themes and every segment's theme) for a theme edit, the
# word's place on the [privacy] lists for a privacy edit. "Ångra" puts the latest back; the
# themes run that follows starts from the saved assignments, so an undone split or merge gives
# back the themes as they were (the run is deterministic).
UNDO_DIR = ".narrativ-undo"
UNDO_KEEP = 30


def _undo_files(study: Path) -> list[Path]:
    folder = study / UNDO_DIR
    return sorted(folder.glob("*.json"), key=lambda p: int(p.stem)) if folder.exists() else []


def _write_undo(study: Path, record: dict) -> None:
    import json
    folder = study / UNDO_DIR
    folder.mkdir(exist_ok=True)
    files = _undo_files(study)
    n = int(files[-1].stem) + 1 if files else 1
    tmp = folder / f"{n}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"{n}.json")
    for old in files[:max(0, len(files) + 1 - UNDO_KEEP)]:
        old.unlink(missing_ok=True)


def snapshot_themes(study: Path) -> dict:
    """The codebook and the last themes run, before a theme edit (kept by save_undo once the
    edit is made)."""
    import json

    from ..store import Store
    path = study / cb.CODEBOOK_FILE
    with Store(study, create=False) as store:
        themes = store.themes()
        rows = [[sid, tid, score, how] for sid, (tid, score, how) in store.assignments().items()]
        counts = json.loads(store.get_meta("themes_counts") or "null")
    return {"kind": "theme", "codebook": path.read_text(encoding="utf-8") if path.exists() else None,
            "themes": themes, "assignments": rows, "counts": counts}


def snapshot_privacy(study: Path, word: str) -> dict:
    """The lists `word` is on, before a privacy edit."""
    cfg = config.load(study)["privacy"]
    return {"kind": "privacy", "word": (word or "").strip(),
            "lists": [k for k in ("deny", "keep") if (word or "").strip() in (cfg.get(k) or [])]}


def save_undo(study: Path, record: dict, what: str) -> None:
    """Keep `record` (a snapshot taken before the edit) as the edit "Ångra" undoes next."""
    _write_undo(study, {**record, "what": what})


def last_undo(study: Path) -> dict | None:
    """The edit "Ångra" would undo: {"kind", "what"}, or None."""
    import json
    files = _undo_files(study)
    if not files:
        return None
    try:
        record = json.loads(files[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"kind": record.get("kind"), "what": record.get("what", "")}


def undo(study: Path) -> tuple[str, str]:
    """Put back what the latest edit changed. Returns (kind, Swedish sentence); kind "theme"
    (themes must be computed again) or "privacy" (files must be read again)."""
    import json

    import tomlkit

    from ..store import Store
    files = _undo_files(study)
    if not files:
        raise NarrativError("det finns ingen ändring att ångra")
    record = json.loads(files[-1].read_text(encoding="utf-8"))
    if record["kind"] == "theme":
        path = study / cb.CODEBOOK_FILE
        if record.get("codebook") is None:
            path.unlink(missing_ok=True)
        else:
            tmp = path.with_suffix(".yaml.tmp")
            tmp.write_text(record["codebook"], encoding="utf-8")
            tmp.replace(path)
        with Store(study, create=False) as store:
            store.replace_themes(record["themes"], [tuple(r) for r in record["assignments"]], counts=record["counts"])
    else:
        word = record["word"]
        lists = list(record["lists"])
        if not lists and record.get("what", "").endswith("alltid som ett namn"):
            # a name once replaced is remembered by the pseudonymiser (the study's registry only
            # grows): putting the word back on no list would still replace it; "never a name"
            # gives the texts back, which is what undoing "Är ett namn" asks for
            lists = ["keep"]
        path = study / config.STUDY_FILE
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        table = doc.setdefault("privacy", tomlkit.table())
        for key in ("deny", "keep"):
            if key not in table:
                table[key] = tomlkit.array()
            for i in reversed([i for i, w in enumerate(table[key]) if w == word]):
                del table[key][i]
            if key in lists:
                table[key].append(word)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        tmp.replace(path)
    files[-1].unlink()
    return record["kind"], f"Ångrat: {record['what']}"
