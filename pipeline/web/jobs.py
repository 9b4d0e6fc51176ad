"""Long work for the web page (ingest, themes, draft + export) in a background thread, one job at
a time per study.

One job (or an edit about to start one) at a time per study in this process, so two browser
tabs cannot start two; and the study's write lock (pipeline.study.StudyLock, an OS file lock on
DIR/.narrativ.lock through filelock — flock on POSIX, LockFileEx on Windows — re-entrant within a process) held for the job, which the CLI and the
notebooks' Study take too, so another server, a CLI run or a notebook cannot write the same
study at once: a second one is refused with a message saying what is running. Every job is recorded in DIR/.narrativ-jobs.json when it
starts and when it ends; a record still marked as running while nobody holds the lock is a job
that was interrupted (the server stopped mid-job). What the stages had already committed stays:
each stage stores per transaction.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import NarrativError
from ..study import JOBS_FILE, LOCK_FILE, StudyBusy, StudyLock, held_here  # noqa: F401 - LOCK_FILE re-exported

log = logging.getLogger(__name__)

HISTORY = 20
KIND_SV = {"ingest": "Inläsning av filer", "themes": "Beräkning av teman", "draft": "Utkast och filer att ladda ner"}
# the stages' progress words, as the kansli says them
WORDS_SV = {"Beräknar embeddings": "Läser in svarens innehåll (det tar en stund första gången)"}


Busy = StudyBusy          # another job, here or in another process, holds the study
_claimed: set[str] = set()          # studies with a job (or an edit about to start one) in this process
_claim_guard = threading.Lock()


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
            self.what = WORDS_SV.get(what, what)

    def public(self) -> dict:
        d = asdict(self)
        d["label"] = self.label
        d.pop("pid")
        return d


class JobLock:
    """The page's hold on a study for one edit and the job after it: the study claimed in this
    process (one job at a time) and its write lock (against other processes)."""

    def __init__(self, study_dir: Path, what: str):
        self.key = str(Path(study_dir).resolve())
        self.lock = StudyLock(study_dir, what)
        self.held = False

    def release(self) -> None:
        with _claim_guard:
            if not self.held:
                return
            self.held = False
            _claimed.discard(self.key)
        self.lock.release()


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
    if held_here(study_dir):
        return None                       # it is running in this process
    lock = StudyLock(study_dir)
    try:
        lock.acquire()
    except StudyBusy:
        return None                       # it is still running in another process
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

    def running_jobs(self) -> list[Job]:
        return [j for j in list(self._jobs.values()) if j.status == "running"]

    def lock(self, study_dir: Path, kind: str = "") -> JobLock:
        """Take the study for an edit and the job after it, or raise Busy saying what holds it."""
        study_dir = Path(study_dir).resolve()
        hold = JobLock(study_dir, KIND_SV.get(kind, "En ändring på sidan"))
        with _claim_guard:
            if hold.key in _claimed:
                job = self.running(study_dir)
                other = _read_record(study_dir).get("current") or {}
                what = job.label if job else KIND_SV.get(other.get("kind"), "en ändring")
                since = (job.started if job else other.get("started")) or ""
                raise Busy(f"Studien '{study_dir.name}' är upptagen: {what} pågår redan"
                           + (f" (startad {since[11:16]})" if since else "")
                           + ". Vänta tills den är klar och försök sedan igen.")
            _claimed.add(hold.key)
            hold.held = True
        try:
            hold.lock.acquire()
        except BaseException:
            hold.release()
            raise
        return hold

    def start(self, study_dir: Path, kind: str, work: Callable[[Job], None],
              lock: JobLock | None = None) -> Job:
        """Run `work(job)` in a thread holding the study's lock (taken here unless given)."""
        study_dir = Path(study_dir).resolve()
        lock = lock or self.lock(study_dir, kind)
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

