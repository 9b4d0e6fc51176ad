"""The work behind the page's buttons, run as background jobs (pipeline.web.jobs). Each opens
its own Study (SQLite connections belong to one thread) and goes through the same Study API as
the CLI and the notebooks."""
from __future__ import annotations

from pathlib import Path

from ..study import Study
from .files import UPLOAD_DIR
from .jobs import Job


def ingest(study_dir: Path, paths: list[Path] | None = None, rejected: list[str] = ()):
    """Read `paths` (default: every source the study already has, e.g. after a deny/keep
    change). A file that fails is reported by name and problem and removed from the upload
    folder; everything already stored stays. `rejected`: uploads refused before reading
    (reported with the job)."""
    def work(job: Job) -> None:
        job.problems.extend(rejected)
        with Study(study_dir) as study:
            files = paths if paths is not None else [Path(s["path"]) for s in study.store.sources()
                                                     if Path(s["path"]).exists()]
            if not files:
                job.messages.append("Inga filer att läsa in.")
                return
            result = study.ingest(*files, progress=job.progress)
            for f in result.files:
                name = Path(f.path).name
                if f.status == "failed":
                    job.problems.append(f"{name}: {f.problem} – filen lästes inte in")
                    upload = study_dir / UPLOAD_DIR / name
                    if Path(f.path).resolve() == upload.resolve():
                        upload.unlink(missing_ok=True)
                elif f.status in ("added", "replaced"):
                    job.messages.append(f"{name}: inläst, {f.documents} dokument" + (f" (obs! {f.note})" if f.note else ""))
                elif f.status == "unchanged":
                    job.messages.append(f"{name}: redan inläst")
    return work


def themes(study_dir: Path):
    def work(job: Job) -> None:
        with Study(study_dir, create=False) as study:
            result = study.themes(progress=job.progress)
            base = _participants(study)
            job.messages.append(f"{len(result.themes)} teman från fritextsvar av {base} deltagare.")
            for line in result.stale:
                job.messages.append(f"Obs! {line}: flytten/fästningen gäller inte längre.")
    return work


def _participants(study: Study) -> int:
    """The base every output counts on (pipeline.counts): participants with themed text."""
    import json
    return json.loads(study.store.get_meta("themes_counts") or "{}").get("participants", 0)


def draft(study_dir: Path):
    def work(job: Job) -> None:
        with Study(study_dir, create=False) as study:
            job.progress(0, 2, "Skriver utkastet")
            d = study.draft()
            job.progress(1, 2, "Skriver Word, Excel, textfil och diagram")
            study.export()
            job.progress(2, 2, "Klart")
            job.messages.append(f"Utkastet har {len(d.paragraphs)} stycken.")
    return work
