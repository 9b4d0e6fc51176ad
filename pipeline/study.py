"""The Python API (what the notebooks use): a study folder with its settings and store."""
from __future__ import annotations

from pathlib import Path

import shutil

from . import config, gate, ingest, overview, segment
from .pseudonymise import SALT_FILE
from .store import Store


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

    def ingest(self, *paths: str | Path, key_file: str | Path | None = None, progress=None) -> ingest.IngestResult:
        """Read, pseudonymise, store and segment. `key_file`: keep placeholder -> original
        there (outside the study folder, owner-only); default: no key. `progress`: optional
        callable(done, total, what)."""
        return ingest.run(list(paths), self.store, self.config, key_file=key_file, progress=progress)

    def segment(self) -> int:
        return segment.run(self.store, self.config)

    def embed(self, progress=None, embedder=None) -> tuple[int, int]:
        """Embed every themed segment (cached). Returns (segments, newly embedded)."""
        from .embed import embed_texts, make_embedder
        from .themes import load_units
        units = load_units(self.store, self.config["themes"]["kinds"], set())
        _, new = embed_texts(self.store, embedder or make_embedder(self.config), units.texts, self.config["embed"]["batch_size"],
                             progress=progress)
        return len(units.texts), new

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

    def draft(self, drafter=None):
        """Draft the narrative from the latest themes (grounding-checked); saves out/draft.json."""
        from . import draft
        return draft.run(self.store, self.config, self.dir, drafter=drafter)

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

    def export_qdpx(self, allow_identifying: bool = False) -> Path:
        """out/narrativ.qdpx: the study as a REFI-QDA project (see pipeline.qdpx)."""
        from . import qdpx
        return qdpx.export(self.store, self.config, self.dir, allow_identifying=allow_identifying)

    def export_codebook(self, path: str | Path | None = None) -> Path:
        """codebook.yaml as a REFI-QDA codebook (default out/kodbok.qdc); see pipeline.qdc."""
        from . import qdc
        return qdc.export_codebook(self.dir, Path(path) if path else None)

    def import_codebook(self, path: str | Path) -> tuple[int, int]:
        """Codes from a .qdc, .qdpx or .csv into codebook.yaml. Returns (added, updated)."""
        from . import qdc
        return qdc.import_codebook(Path(path), self.dir)

    def agreement(self, coded: str | Path, allow_identifying: bool = False):
        """Agreement of a human coding (xlsx/csv/qdpx) with the themes: an AgreementReport
        (kappa per theme, alpha, disagreements); see pipeline.agreement."""
        from . import agreement
        return agreement.run(self.store, self.config, self.dir, Path(coded), allow_identifying=allow_identifying)

    def agreement_sample(self, n: int, path: str | Path | None = None, allow_identifying: bool = False) -> Path:
        """A stratified sample (by theme and team) to code by hand, as xlsx."""
        from . import agreement
        return agreement.write_sample(self.store, self.config, self.dir, n, Path(path) if path else None,
                                      allow_identifying=allow_identifying)

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

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


STUDY_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", SALT_FILE, config.STUDY_FILE,
               "codebook.yaml", ".narrativ.lock", ".narrativ-jobs.json")
UPLOAD_DIR = "källfiler"        # files uploaded on the web page (pipeline/web), kept to be read again


def delete_study(path: str | Path, open_study: "Study | None" = None) -> list[Path]:
    path = Path(path)
    if open_study is not None:
        open_study.close()
    for name in STUDY_FILES:
        (path / name).unlink(missing_ok=True)
    shutil.rmtree(path / "out", ignore_errors=True)
    shutil.rmtree(path / UPLOAD_DIR, ignore_errors=True)
    left = sorted(path.iterdir()) if path.exists() else []
    if path.exists() and not left:
        path.rmdir()
    return left
