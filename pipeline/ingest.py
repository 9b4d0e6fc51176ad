"""Ingest stage: source files -> documents in the study store.

Each file is read and stored in its own transaction: a bad file is reported (file name and
problem, never its text) and the others go on; a run that dies keeps every file already
committed. A file whose content is already stored is skipped; a changed file at the same path
replaces its earlier version.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import readers, segment
from .errors import InputError
from .store import Store

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    path: str
    status: str            # added | replaced | unchanged | failed | skipped
    documents: int = 0
    problem: str = ""


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


def run(paths: list[str | Path], store: Store, cfg: dict) -> IngestResult:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    icfg = cfg["ingest"]
    files, skipped = expand(paths, icfg["extensions"])
    result = IngestResult(files=list(skipped))
    new_docs: list[str] = []
    for path in files:
        try:
            if not path.exists():
                raise InputError(path, "filen finns inte")
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(path, f"filen går inte att läsa ({exc.strerror})") from None
            sha = hashlib.sha256(data).hexdigest()
            if store.source_by_hash(sha) is not None:
                result.files.append(FileResult(str(path), "unchanged"))
                continue
            reader, n_chars, docs = readers.read(path, data, icfg)
            added, replaced = store.add_source(str(path.resolve()), sha, reader, n_chars, docs)
            new_docs += [f"{sha[:8]}.{i}" for i in range(1, added + 1)]
            result.files.append(FileResult(str(path), "replaced" if replaced else "added", added))
        except InputError as exc:
            log.warning("ingest failed: %s", exc)
            result.files.append(FileResult(str(path), "failed", problem=exc.problem))
    if new_docs:
        result.segments = segment.run(store, cfg, new_docs)
    store.log_run("ingest", "ok" if result.ok else "errors", {
        "files": [{"file": Path(f.path).name, "status": f.status, "documents": f.documents,
                   "problem": f.problem} for f in result.files],
        "segments": result.segments,
    }, started=started)
    return result
