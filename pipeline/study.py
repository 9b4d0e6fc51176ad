"""The Python API (what the notebooks use): a study folder with its settings and store."""
from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from . import config, gate, ingest, overview, segment
from .errors import StudyError
from .pseudonymise import SALT_FILE
from .store import Store


def _os_lock(path: Path) -> FileLock | None:
    """The operating system's exclusive lock on `path` without waiting (filelock: flock on POSIX,
    LockFileEx/msvcrt on Windows, released by the OS when the process dies); None when another
    process holds it. Shared across threads (`thread_local=False`): the page takes the lock in a
    request and releases it in the job's thread. Re-entrancy is ours (`_held` below), so one
    FileLock per study and process is taken once."""
    lock = FileLock(str(path), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        return None
    return lock


LOCK_FILE = ".narrativ.lock"
HOLDER_FILE = ".narrativ-holder.json"      # who holds the lock (the lock file itself is the OS lock's:
                                           # filelock may truncate it, and Windows bars reading a locked byte)
JOBS_FILE = ".narrativ-jobs.json"          # the web page's job record (pipeline.web.jobs)
WHAT_SV = {"ingest": "Inläsning av filer", "segment": "Indelning i textdelar", "embed": "Beräkning av textinnehåll",
           "themes": "Beräkning av teman", "draft": "Utkast och filer att ladda ner", "export": "Filer att ladda ner",
           "import_codebook": "Import av kodbok", "export_codebook": "Export av kodbok",
           "export_qdpx": "Export till QDA-program", "agreement": "Jämförelse med handkodning",
           "agreement_sample": "Urval att koda för hand", "questions": "Svar på forskningsfrågor",
           "delete": "Borttagning av studien",
           "run": "En hel körning (narrativ run)"}


class StudyBusy(StudyError):
    """Another program (another process) is writing the study."""


class _Held:
    def __init__(self, lock: FileLock, what: str):
        self.lock, self.what, self.count = lock, what, 0


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def _program() -> str:
    """Who holds the study, as another program's refusal names it."""
    argv = sys.argv or [""]
    if Path(argv[0]).name.lower().removesuffix(".exe") in ("narrativ", "__main__.py") and len(argv) > 1:
        return "webbsidan, narrativ serve" if argv[1] == "serve" else f"kommandot 'narrativ {argv[1]}'"
    if "ipykernel" in sys.modules:
        return "en notebook"
    return "ett Python-program"


def _holder_text(study_dir: Path) -> str:
    """What the holder wrote in the lock file (or the page's job record): 'X pågår redan i Y
    (startad HH:MM)'."""
    info = {}
    try:
        info = json.loads((study_dir / HOLDER_FILE).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        pass
    if not info.get("what"):           # a holder that wrote nothing: the page's job record, if any
        try:
            job = json.loads((study_dir / JOBS_FILE).read_text(encoding="utf-8")).get("current") or {}
        except (OSError, ValueError):
            job = {}
        info = {"what": WHAT_SV.get(job.get("kind"), ""), "since": job.get("started"), "program": ""}
    what = info.get("what") or "en körning"
    since = info.get("since") or ""
    about = [x for x in (info.get("program"), f"startad {since[11:16]}" if len(since) >= 16 else "") if x]
    return f"{what} pågår redan" + (f" ({', '.join(about)})" if about else "")


class StudyLock:
    """The study's write lock: an exclusive OS lock on DIR/.narrativ.lock (filelock), held by one process
    at a time and re-entrant within it (a process-level registry), so the page's own jobs, a
    Study method calling another and a notebook holding `Study.lock()` never refuse themselves,
    while the CLI, a notebook or a second page in another process are refused with a Swedish
    message naming the study and what holds it. Released by `release()`, on leaving a `with`,
    or when the process dies."""

    def __init__(self, study_dir: str | Path, what: str = ""):
        self.dir = Path(study_dir).resolve()
        self.what = what
        self.held = False

    def acquire(self) -> "StudyLock":
        key = str(self.dir)
        with _held_guard:
            entry = _held.get(key)
            if entry is None:
                lock = _os_lock(self.dir / LOCK_FILE)
                if lock is None:
                    raise StudyBusy(f"Studien '{self.dir.name}' är upptagen: {_holder_text(self.dir)}. "
                                    "Vänta tills den är klar och försök sedan igen.") from None
                entry = _held[key] = _Held(lock, self.what)
                note = {"pid": os.getpid(), "program": _program(), "what": self.what,
                        "since": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}
                try:
                    (self.dir / HOLDER_FILE).write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")
                except OSError:
                    pass                             # only the refusal's wording needs it
            entry.count += 1
            self.held = True
        return self

    def release(self) -> None:
        key = str(self.dir)
        with _held_guard:
            if not self.held:
                return
            self.held = False
            entry = _held[key]
            entry.count -= 1
            if entry.count == 0:
                del _held[key]
                try:
                    (self.dir / HOLDER_FILE).unlink(missing_ok=True)
                except OSError:
                    pass
                entry.lock.release()

    def __enter__(self) -> "StudyLock":
        return self.acquire() if not self.held else self

    def __exit__(self, *exc) -> None:
        self.release()


def held_here(study_dir: str | Path) -> bool:
    """Whether this process holds the study's lock."""
    with _held_guard:
        return str(Path(study_dir).resolve()) in _held


def _writes(method):
    """A Study method that writes the study: run holding the study's lock."""
    what = WHAT_SV.get(method.__name__, method.__name__)

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with StudyLock(self.dir, what):
            return method(self, *args, **kwargs)
    return locked


class Study:
    """DIR/study.toml (settings), DIR/store.sqlite (data), DIR/out/ (results)."""

    def __init__(self, path: str | Path, create: bool = True):
        self.dir = Path(path)
        self.store = Store(self.dir, create=create)
        if create:
            config.write_default(self.dir)
        self.config = config.load(self.dir)

    @property
    def out_dir(self) -> Path:
        d = self.dir / "out"
        d.mkdir(exist_ok=True)
        return d

    @_writes
    def ingest(self, *paths: str | Path, key_file: str | Path | None = None, progress=None) -> ingest.IngestResult:
        """Read, pseudonymise, store and segment. `key_file`: keep placeholder -> original
        there (outside the study folder, owner-only); default: no key. `progress`: optional
        callable(done, total, what)."""
        return ingest.run(list(paths), self.store, self.config, key_file=key_file, progress=progress)

    @_writes
    def segment(self) -> int:
        return segment.run(self.store, self.config)

    @_writes
    def embed(self, progress=None, embedder=None) -> tuple[int, int]:
        """Embed every themed segment (cached). Returns (segments, newly embedded)."""
        from .embed import embed_texts, make_embedder
        from .themes import load_units
        units = load_units(self.store, self.config["themes"]["kinds"], set())
        _, new = embed_texts(self.store, embedder or make_embedder(self.config), units.texts, self.config["embed"]["batch_size"],
                             progress=progress)
        return len(units.texts), new

    @_writes
    def themes(self, rediscover: bool = False, embedder=None, progress=None):
        """Run the themes stage; see pipeline.themes. Returns a ThemeResult. `progress`:
        optional callable(done, total, what); the embeddings are then computed first (cached)."""
        from . import themes
        if progress:
            from .embed import make_embedder
            embedder = embedder or make_embedder(self.config)
            self.embed(progress, embedder)
            progress(0, 0, "Hittar teman")
        return themes.run(self.store, self.config, self.dir, rediscover=rediscover, embedder=embedder)

    def info(self, review: bool = True) -> dict:
        """Counts; with `review`, the pseudonymisation review list too."""
        return overview.summary(self.store, self.config if review else None)

    @_writes
    def draft(self, drafter=None):
        """Draft the narrative from the latest themes (grounding-checked); saves out/draft.json."""
        from . import draft
        return draft.run(self.store, self.config, self.dir, drafter=drafter)

    @_writes
    def export(self, allow_identifying: bool = False) -> dict:
        """Write out/narrativ.docx, .md, .xlsx and out/teman.png from the last draft, through the
        privacy gate."""
        from . import draft, export
        path = self.dir / "out" / "draft.json"
        if not path.exists():
            from .errors import StudyError
            raise StudyError(f"{self.dir}: inget utkast ännu; kör 'narrativ draft' först")
        return export.run(self.store, self.config, self.dir, draft.Draft.from_json(path.read_text(encoding="utf-8")),
                          draft.load_material(self.store), allow_identifying=allow_identifying)

    @_writes
    def export_qdpx(self, allow_identifying: bool = False) -> Path:
        """out/narrativ.qdpx: the study as a REFI-QDA project (see pipeline.qdpx)."""
        from . import qdpx
        return qdpx.export(self.store, self.config, self.dir, allow_identifying=allow_identifying)

    @_writes
    def export_codebook(self, path: str | Path | None = None) -> Path:
        """codebook.yaml as a REFI-QDA codebook (default out/kodbok.qdc); see pipeline.qdc."""
        from . import qdc
        return qdc.export_codebook(self.dir, Path(path) if path else None)

    @_writes
    def import_codebook(self, path: str | Path) -> tuple[int, int]:
        """Codes from a .qdc, .qdpx or .csv into codebook.yaml. Returns (added, updated)."""
        from . import qdc
        return qdc.import_codebook(Path(path), self.dir)

    @_writes
    def agreement(self, coded: str | Path, allow_identifying: bool = False):
        """Agreement of a human coding (xlsx/csv/qdpx) with the themes: an AgreementReport
        (kappa per theme, alpha, disagreements); see pipeline.agreement."""
        from . import agreement
        return agreement.run(self.store, self.config, self.dir, Path(coded), allow_identifying=allow_identifying)

    @_writes
    def agreement_sample(self, n: int, path: str | Path | None = None, allow_identifying: bool = False) -> Path:
        """A stratified sample (by theme and team) to code by hand, as xlsx."""
        from . import agreement
        return agreement.write_sample(self.store, self.config, self.dir, n, Path(path) if path else None,
                                      allow_identifying=allow_identifying)

    @_writes
    def questions(self, questions, allow_identifying: bool = False) -> list[dict]:
        """Answer research questions (a list, or a file with one per line) from the interviews;
        writes out/questions.json. See pipeline.questions."""
        from . import questions as q
        if isinstance(questions, (str, Path)):
            questions = q.read_questions(questions)
        return q.run(self.store, self.config, self.dir, list(questions), allow_identifying=allow_identifying)

    def matrix(self, with_passages: bool = True):
        """The framework matrix (themes × stakeholder groups) as a pandas DataFrame."""
        from .draft import load_material
        from .groups import GroupRules
        from .matrix import as_frame, framework_matrix
        groups, rows = framework_matrix(load_material(self.store), GroupRules.from_config(self.config))
        return as_frame(groups, rows, with_passages)

    def segments(self, allow_identifying: bool = False) -> list[dict]:
        """Every segment with its trace to the source, through the export gate."""
        records = overview.segment_records(self.store)
        gate.check(self.store, self.config, ((r["segment_id"], r["text"]) for r in records),
                   allow=allow_identifying, what="Segmentexporten")
        return records

    @_writes
    def delete(self) -> list[Path]:
        """Remove the study's store, settings, pseudonym key material and results. Returns
        files left in the folder that narrativ did not make (kept)."""
        return delete_study(self.dir, self)

    def segments_frame(self):
        import pandas as pd
        rows = self.segments()
        frame = pd.DataFrame([{k: v for k, v in r.items() if k != "attributes"} for r in rows])
        attrs = pd.DataFrame([r["attributes"] for r in rows])
        return pd.concat([frame, attrs], axis=1)

    def freshness(self) -> dict[str, str | None]:
        """Which results are older than what they are made from, each with a Swedish sentence
        saying why (None: up to date or not made yet): "themes" (answers read, changed or left
        out since the themes run), "draft" (themes newer than the draft) and "exports" (the
        files to download: made before the latest themes, draft or text changes — e.g. a word
        marked as a name after the export). See pipeline.freshness for how it is decided."""
        return freshness(self.store, self.config, self.dir)

    def lock(self, what: str = "") -> StudyLock:
        """Hold the study for several steps: `with study.lock(): ...` (each writing method takes
        the lock by itself too; a program in another process is refused meanwhile)."""
        return StudyLock(self.dir, what or "Arbete i en notebook")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fingerprint(ids) -> str:
    """A digest of a set of segment ids. Ids are digests of the text, so a changed text (a name
    replaced after a privacy change), a new file or a removed one changes the fingerprint."""
    import hashlib
    h = hashlib.sha256()
    for sid in sorted(ids):
        h.update(sid.encode() + b"\n")
    return h.hexdigest()


def themed_ids(store: Store, cfg: dict, study_dir: Path) -> list[str]:
    """The segments a themes run would theme now (the kinds of [themes] kinds, minus
    exclude_segments in codebook.yaml)."""
    from . import codebook as cb
    from .errors import StudyError
    try:
        book = cb.load(Path(study_dir) / cb.CODEBOOK_FILE)
    except StudyError:
        book = None
    left_out = set(book.exclude_segments) if book else set()
    kinds = set(cfg["themes"]["kinds"])
    rows = store.conn.execute("SELECT g.id, d.kind FROM segments g JOIN documents d ON d.id = g.document_id")
    return [sid for sid, kind in rows if kind in kinds and sid not in left_out]


def freshness(store: Store, cfg: dict, study_dir: Path) -> dict[str, str | None]:
    import json
    study_dir = Path(study_dir)
    out: dict[str, str | None] = {"themes": None, "draft": None, "exports": None}
    themes_json = study_dir / "out" / "themes.json"
    saved = json.loads(store.get_meta("themes_input") or "{}")
    if store.get_meta("themes_counts") is None:
        return out                                                    # no themes yet: nothing is stale
    if saved.get("hash") != fingerprint(themed_ids(store, cfg, study_dir)):
        known = set(saved.get("sources") or [])
        newer = [s["name"] for s in store.sources() if "sources" in saved and s["name"] not in known]
        out["themes"] = ("Teman beräknades innan " + (
            "filerna " + ", ".join(newer[:5]) + (" m.fl." if len(newer) > 5 else "") + " lästes in"
            if newer else "texterna ändrades (till exempel pseudonymiseringen)")
            + ": de nya svaren finns inte med i temana.")
    draft = study_dir / "out" / "draft.json"
    if draft.exists():
        if out["themes"]:
            out["draft"] = "Utkastet bygger på teman som inte har med allt som är inläst nu."
        elif themes_json.exists() and themes_json.stat().st_mtime > draft.stat().st_mtime:
            out["draft"] = "Teman har ändrats sedan utkastet skrevs."
    exported = json.loads(store.get_meta("export_input") or "{}")
    if exported:
        if exported.get("segments") != fingerprint(store.segment_ids()):
            out["exports"] = "Texterna har ändrats sedan filerna skapades (till exempel pseudonymiseringen)."
        elif out["themes"] or out["draft"] or exported.get("themes") != saved.get("hash") \
                or exported.get("themes_at") != saved.get("at"):
            out["exports"] = "Filerna skapades före de senaste ändringarna av teman eller utkast."
        elif draft.exists() and exported.get("draft_mtime") != draft.stat().st_mtime_ns:
            out["exports"] = "Utkastet har skrivits om sedan filerna skapades."
    return out


def record_export(store: Store, study_dir: Path) -> None:
    """Remember what the exported files were made from (see freshness)."""
    import json
    saved = json.loads(store.get_meta("themes_input") or "{}")
    draft = Path(study_dir) / "out" / "draft.json"
    store.set_meta("export_input", json.dumps({
        "segments": fingerprint(store.segment_ids()), "themes": saved.get("hash"), "themes_at": saved.get("at"),
        "draft_mtime": draft.stat().st_mtime_ns if draft.exists() else None}))


STUDY_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", SALT_FILE, config.STUDY_FILE,
               "codebook.yaml", LOCK_FILE, HOLDER_FILE, ".narrativ-jobs.json")
UPLOAD_DIR = "källfiler"        # files uploaded on the web page (pipeline/web), kept to be read again


def delete_study(path: str | Path, open_study: "Study | None" = None) -> list[Path]:
    path = Path(path)
    if open_study is not None:
        open_study.close()
    if not path.exists():
        return []
    with StudyLock(path, WHAT_SV["delete"]):
        _delete_files(path)
    # the lock file last, once released: Windows does not delete a file another handle holds open
    try:
        (path / LOCK_FILE).unlink(missing_ok=True)
    except OSError:
        pass
    left = sorted(path.iterdir()) if path.exists() else []
    if path.exists() and not left:
        path.rmdir()
    return left


def _delete_files(path: Path) -> None:
    for name in STUDY_FILES:
        if name != LOCK_FILE:
            (path / name).unlink(missing_ok=True)
    shutil.rmtree(path / "out", ignore_errors=True)
    shutil.rmtree(path / UPLOAD_DIR, ignore_errors=True)
    shutil.rmtree(path / ".narrativ-undo", ignore_errors=True)      # pipeline.web.edits: the page's undo
