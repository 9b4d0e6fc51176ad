"""Ingest stage: source files -> (pseudonymised) documents in the study store.

All files are read first; then pseudonymisation learns the names of the whole batch (so a name
found in one file is replaced in all), and each file is stored in its own transaction. A bad
file is reported (file name and problem, never its text) and the others go on; a run that dies
keeps every file already committed. A file whose content is already stored with the same
settings is skipped; a changed file at the same path, or a file read with changed settings
(e.g. a new name on the deny-list), replaces its earlier version.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import readers, segment
from .errors import InputError
from .pseudonymise import Pseudonymiser
from .store import Store

log = logging.getLogger(__name__)

LEGACY_IDS_NOTE = ("segmenten har fått nya, stabila id:n (studien skapades med en äldre narrativ); "
                   "fästa citat, flyttar och uteslutna segment i codebook.yaml som pekar på de gamla "
                   "id:na gäller inte längre: 'narrativ themes' listar dem")


@dataclass
class FileResult:
    path: str
    status: str            # added | replaced | unchanged | failed | skipped
    documents: int = 0
    problem: str = ""
    replaced: dict[str, int] = field(default_factory=dict)   # pseudonymised items per kind
    note: str = ""         # something the user should know about this file (in Swedish)


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    segments: int = 0

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def expand(paths: list[str | Path], extensions: list[str]) -> tuple[list[Path], list[FileResult]]:
    """Files to read: given files as they are, folders walked (sorted, hidden and Office lock
    files left out). Files in folders with other endings are reported as skipped."""
    files: list[Path] = []
    skipped: list[FileResult] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                rel = f.relative_to(p)
                if any(part.startswith((".", "~$")) for part in rel.parts):
                    continue
                if f.suffix.lower() in extensions:
                    files.append(f)
                else:
                    skipped.append(FileResult(str(f), "skipped", problem=f"filtypen '{f.suffix}' läses inte"))
        else:
            files.append(p)
    return files, skipped


def office_owner(path: Path) -> tuple[Path, str] | None:
    """The owner file Excel or Word keeps next to a file it has open ("~$Svar.xlsx"; Word drops
    the first two characters of a long name: "~$ar 2025.docx"), and the program's name."""
    program = "Word" if path.suffix.lower() in (".docx", ".doc", ".odt") else "Excel"
    for name in ("~$" + path.name, "~$" + path.name[2:]):
        owner = path.with_name(name)
        if len(path.name) > 2 and owner.is_file():
            return owner, program
    return None


def settings_digest(cfg: dict) -> str:
    """What reading depends on: the [ingest] and [privacy] settings."""
    blob = json.dumps({"ingest": cfg["ingest"], "privacy": cfg["privacy"]}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run(paths: list[str | Path], store: Store, cfg: dict, key_file: str | Path | None = None,
        progress=None) -> IngestResult:
    """`progress`: optional callable(done, total, what), told after each file read and stored."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    icfg = cfg["ingest"]
    digest = settings_digest(cfg)
    files, skipped = expand(paths, icfg["extensions"])
    result = IngestResult(files=list(skipped))
    batch = []                                  # (path, sha, reader, n_chars, docs)
    notes: dict[Path, str] = {}                 # files open in Excel or Word while read
    for i, path in enumerate(files):
        if progress:
            progress(i, 2 * len(files), f"Läser {path.name}")
        try:
            if not path.exists():
                raise InputError(path, "filen finns inte")
            try:
                data = path.read_bytes()
            except PermissionError:
                raise InputError(path, "filen är låst eller får inte läsas"
                                 + (" – den är öppen i " + office_owner(path)[1] if office_owner(path) else
                                    " (är den öppen i Excel eller ett annat program?)")
                                 + ": stäng den och läs in den igen") from None
            except OSError as exc:
                raise InputError(path, f"filen går inte att läsa ({exc.strerror})") from None
            open_note = office_owner(path)
            sha = hashlib.sha256(data).hexdigest()
            old = store.source_by_hash(sha)
            if old is not None and old["settings_digest"] == digest:
                result.files.append(FileResult(str(path), "unchanged"))
                continue
            batch.append((path, sha, *readers.read(path, data, icfg)))
            if open_note:
                notes[path] = (f"filen var öppen i {open_note[1]} när den lästes: ändringar som inte är sparade "
                               "kom inte med (spara och stäng den, och läs in den igen om du ändrat något)")
        except InputError as exc:
            log.warning("ingest failed: %s", exc)
            result.files.append(FileResult(str(path), "failed", problem=exc.problem))

    pseudonymiser = Pseudonymiser(store, cfg, key_file=key_file) if cfg["privacy"]["enabled"] and batch else None
    if pseudonymiser:
        everything = [doc for *_, docs in batch for doc in docs]
        pseudonymiser.learn(everything)
        pseudonymiser.prepare(everything)       # every distinct text checked once, in one batch
    new_docs: list[str] = []
    for i, (path, sha, reader, n_chars, docs) in enumerate(batch):
        if progress:
            progress(len(files) + i * len(files) // len(batch), 2 * len(files), f"Pseudonymiserar och sparar {path.name}")
        counts: dict[str, int] = {}
        if pseudonymiser:
            for doc in docs:
                for kind, n in pseudonymiser.apply(doc).items():
                    counts[kind] = counts.get(kind, 0) + n
        rows = pseudonymiser.take_new_rows() if pseudonymiser else []
        legacy = store.has_legacy_ids(str(path.resolve()), sha)
        added, replaced = store.add_source(str(path.resolve()), sha, reader, n_chars, docs,
                                           settings_digest=digest, pseudonyms=rows)
        new_docs += added
        result.files.append(FileResult(str(path), "replaced" if replaced else "added", len(added),
                                       replaced=counts,
                                       note="; ".join(n for n in (notes.get(path), LEGACY_IDS_NOTE if legacy else "") if n)))
    if pseudonymiser:
        pseudonymiser.write_key()
    if new_docs:
        if progress:
            progress(2 * len(files), 2 * len(files), "Delar texterna i segment")
        result.segments = segment.run(store, cfg, new_docs)
    store.log_run("ingest", "ok" if result.ok else "errors", {
        "files": [{"file": Path(f.path).name, "status": f.status, "documents": f.documents,
                   "problem": f.problem, "pseudonymised": f.replaced} for f in result.files],
        "segments": result.segments,
    }, started=started)
    return result
