"""Long work for the web page (ingest, themes, draft + export) in a background thread, one job at
a time per study.

The lock is an `fcntl.flock` on DIR/.narrativ.lock, so two browser tabs, two servers or a CLI
run started through this module cannot write the same store at once: a second job is refused
with a message saying what is running. Every job is recorded in DIR/.narrativ-jobs.json when it
starts and when it ends; a record still marked as running while nobody holds the lock is a job
that was interrupted (the server stopped mid-job). What the stages had already committed stays:
each stage stores per transaction.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import NarrativError

log = logging.getLogger(__name__)

LOCK_FILE = ".narrativ.lock"
JOBS_FILE = ".narrativ-jobs.json"
HISTORY = 20
KIND_SV = {"ingest": "Inläsning av filer", "themes": "Teman", "draft": "Utkast och export"}


class Busy(NarrativError):
    """Another job holds the study."""


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class Job:
    study: str
    kind: str
    started: str = field(default_factory=_now)
    finished: str | None = None
    status: str = "running"           # running | ok | failed | interrupted
    what: str = ""                    # the step now running (Swedish)
    done: int = 0
    total: int = 0
    messages: list[str] = field(default_factory=list)    # what was done (file names, counts)
    problems: list[str] = field(default_factory=list)    # file names and problems, never participant text
    pid: int = field(default_factory=os.getpid)

    @property
    def label(self) -> str:
        return KIND_SV.get(self.kind, self.kind)

    def progress(self, done: int, total: int, what: str = "") -> None:
        self.done, self.total = done, total
        if what:
            self.what = what

    def public(self) -> dict:
        d = asdict(self)
        d["label"] = self.label
        d.pop("pid")
        return d


class StudyLock:
    """An exclusive, non-blocking flock on the study's lock file (released on close or when the
    process dies)."""

    def __init__(self, study_dir: Path):
        self.path = Path(study_dir) / LOCK_FILE
        self.fh = None

    def acquire(self) -> bool:
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self.fh = fh
        return True

    def release(self) -> None:
        if self.fh is not None:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


def _read_record(study_dir: Path) -> dict:
    path = Path(study_dir) / JOBS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"current": None, "history": []}


def _write_record(study_dir: Path, record: dict) -> None:
    path = Path(study_dir) / JOBS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def interrupted(study_dir: Path) -> dict | None:
    """If the last job was cut off (recorded as running, lock free), record it as interrupted
    and return it."""
    record = _read_record(study_dir)
    current = record.get("current")
    if not current:
        return None
    lock = StudyLock(study_dir)
    if not lock.acquire():
        return None                       # it is still running (here or in another process)
    try:
        current.update(status="interrupted", finished=None)
        record["current"] = None
        record["history"] = ([current] + record.get("history", []))[:HISTORY]
        _write_record(study_dir, record)
        return current
    finally:
        lock.release()


def last_job(study_dir: Path) -> dict | None:
    history = _read_record(study_dir).get("history") or []
    if not history:
        return None
    job = dict(history[0])
    job["label"] = KIND_SV.get(job.get("kind"), job.get("kind"))
    return job


class JobRunner:
    """Starts jobs in threads; knows the running job of each study this process started."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._guard = threading.Lock()

    def current(self, study_dir: Path) -> Job | None:
        return self._jobs.get(str(Path(study_dir).resolve()))

    def running(self, study_dir: Path) -> Job | None:
        job = self.current(study_dir)
        return job if job is not None and job.status == "running" else None

    def lock(self, study_dir: Path) -> StudyLock:
        """Take the study for a job, or raise Busy saying what holds it."""
        lock = StudyLock(study_dir)
        with self._guard:
            if not lock.acquire():
                job = self.running(study_dir)
                other = _read_record(study_dir).get("current") or {}
                what = job.label if job else KIND_SV.get(other.get("kind"), "en körning")
                since = (job.started if job else other.get("started")) or ""
                raise Busy(f"Studien '{Path(study_dir).name}' är upptagen: {what} pågår redan"
                           + (f" (startad {since[11:16]})" if since else "")
                           + ". Vänta tills den är klar och försök sedan igen.")
        return lock

    def start(self, study_dir: Path, kind: str, work: Callable[[Job], None],
              lock: StudyLock | None = None) -> Job:
        """Run `work(job)` in a thread holding the study's lock (taken here unless given)."""
        study_dir = Path(study_dir).resolve()
        lock = lock or self.lock(study_dir)
        job = Job(study=study_dir.name, kind=kind, what=KIND_SV.get(kind, kind))
        record = _read_record(study_dir)
        record["current"] = job.public()
        _write_record(study_dir, record)
        self._jobs[str(study_dir)] = job

        def target():
            try:
                work(job)
                job.status = "ok"
            except NarrativError as exc:
                job.status = "failed"
                job.problems.append(str(exc))
            except Exception as exc:                      # noqa: BLE001 - reported on the page
                log.exception("job %s on %s failed", kind, study_dir.name)
                job.status = "failed"
                job.problems.append(f"Ett oväntat fel ({type(exc).__name__}); se terminalfönstret.")
            finally:
                job.finished = _now()
                rec = _read_record(study_dir)
                rec["current"] = None
                rec["history"] = ([job.public()] + rec.get("history", []))[:HISTORY]
                _write_record(study_dir, rec)
                lock.release()

        thread = threading.Thread(target=target, name=f"narrativ-{kind}-{study_dir.name}", daemon=True)
        self._threads[str(study_dir)] = thread
        thread.start()
        return job

    def wait(self, study_dir: Path, timeout: float | None = None) -> Job | None:
        """Block until the study's job ends (tests, shutdown)."""
        thread = self._threads.get(str(Path(study_dir).resolve()))
        if thread is not None:
            thread.join(timeout)
        return self.current(study_dir)

