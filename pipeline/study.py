"""The Python API (what the notebooks use): a study folder with its settings and store."""
from __future__ import annotations

from pathlib import Path

from . import config, ingest, overview, segment
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

    def ingest(self, *paths: str | Path, key_file: str | Path | None = None) -> ingest.IngestResult:
        """Read, pseudonymise, store and segment. `key_file`: keep placeholder -> original
        there (outside the study folder, owner-only); default: no key."""
        return ingest.run(list(paths), self.store, self.config, key_file=key_file)

    def segment(self) -> int:
        return segment.run(self.store, self.config)

    def info(self) -> dict:
        return overview.summary(self.store)

    def segments(self) -> list[dict]:
        return overview.segment_records(self.store)

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
