"""The study store: one SQLite file per study (DIR/store.sqlite).

Schema versioned with PRAGMA user_version; migrations run in order on open. Every stage reads
and writes here, each write in one transaction, so a run that dies keeps what was committed.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from . import stable_ids
from .documents import Document
from .errors import StudyError

STORE_FILE = "store.sqlite"

MIGRATIONS: list[str] = [
    # 1: sources, documents with attributes, segments, run log
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        reader TEXT NOT NULL,
        n_chars INTEGER,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX sources_path ON sources(path);
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        title TEXT,
        text TEXT NOT NULL,
        src_start INTEGER,
        src_end INTEGER,
        locator TEXT NOT NULL,
        respondent TEXT
    );
    CREATE INDEX documents_source ON documents(source_id);
    CREATE TABLE doc_attributes (
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (document_id, key)
    );
    CREATE INDEX doc_attributes_kv ON doc_attributes(key, value);
    CREATE TABLE segments (
        id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        text TEXT NOT NULL,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL
    );
    CREATE INDEX segments_document ON segments(document_id);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        stage TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT,
        status TEXT NOT NULL,
        details TEXT
    );
    """,
    # 2: pseudonymisation: keyed digests -> placeholders; offset maps; settings per source
    """
    ALTER TABLE sources ADD COLUMN settings_digest TEXT;
    ALTER TABLE documents ADD COLUMN offset_map TEXT;
    CREATE TABLE pseudonyms (
        digest TEXT PRIMARY KEY,
        placeholder TEXT NOT NULL,
        kind TEXT NOT NULL
    );
    """,
    # 3: embedding cache; themes of the latest run and the assignment of segments to them
    """
    CREATE TABLE embeddings (
        model_id TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model_id, text_hash)
    );
    CREATE TABLE themes (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        label TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE assignments (
        segment_id TEXT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
        theme_id TEXT NOT NULL,
        score REAL,
        how TEXT NOT NULL
    );
    """,
    # 4: stable segment ids (pipeline/stable_ids.py): a file read again keeps the ids of its
    # unchanged answers, so their theme of the last run is kept too: assignments no longer go
    # with the segments they name (the next themes run replaces them all). Ids made before this
    # stay valid until their file is read again (ingest says so).
    """
    CREATE TABLE assignments_v4 (
        segment_id TEXT PRIMARY KEY,
        theme_id TEXT NOT NULL,
        score REAL,
        how TEXT NOT NULL
    );
    INSERT INTO assignments_v4 SELECT segment_id, theme_id, score, how FROM assignments;
    DROP TABLE assignments;
    ALTER TABLE assignments_v4 RENAME TO assignments;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """Open (and create or migrate) DIR/store.sqlite."""

    def __init__(self, study_dir: str | Path, create: bool = True):
        self.dir = Path(study_dir)
        self.path = self.dir / STORE_FILE
        if not self.path.exists() and not create:
            raise StudyError(f"{self.dir}: ingen studie här (saknar {STORE_FILE}); kör 'narrativ ingest' först")
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StudyError(f"{self.path}: studiens databas går inte att öppna ({exc})") from None

    # -- housekeeping -------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StudyError(
                f"{self.path}: skapad av en nyare narrativ (schema {version} > {SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing write: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- run log ------------------------------------------------------------------------------
    def log_run(self, stage: str, status: str, details: dict, started: str | None = None) -> None:
        """Record a stage run. `details` holds counts, file names and ids only, never text."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO runs (stage, started, finished, status, details) VALUES (?,?,?,?,?)",
                (stage, started or _now(), _now(), status, json.dumps(details, ensure_ascii=False)),
            )

    # -- sources and documents ----------------------------------------------------------------
    def source_by_hash(self, sha256: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM sources WHERE sha256 = ?", (sha256,)).fetchone()

    def has_legacy_ids(self, path: str, sha256: str) -> bool:
        """Whether the stored version of this source still has ids from before stable ids."""
        rows = self.conn.execute("SELECT d.id FROM documents d JOIN sources s ON s.id = d.source_id"
                                 " WHERE s.path = ? OR s.sha256 = ?", (path, sha256)).fetchall()
        return any(stable_ids.is_legacy_document(r["id"]) for r in rows)

    def add_source(self, path: str, sha256: str, reader: str, n_chars: int | None,
                   documents: list[Document], settings_digest: str = "",
                   pseudonyms: list[tuple[str, str, str]] = ()) -> tuple[list[str], int]:
        """Store one source, its documents and new pseudonym digests in one transaction.

        An earlier version of the same path, or the same content read with other settings, is
        replaced (its documents and everything derived from them go with it). Document ids are
        stable (pipeline/stable_ids.py): an unchanged document gets the id it had.
        Returns (ids of the documents added, number of documents replaced).
        """
        name = Path(path).name
        with self.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO pseudonyms (digest, placeholder, kind) VALUES (?,?,?)",
                             list(pseudonyms))
            replaced = 0
            for old in conn.execute("SELECT id FROM sources WHERE path = ? OR sha256 = ?",
                                    (path, sha256)).fetchall():
                replaced += conn.execute(
                    "SELECT COUNT(*) FROM documents WHERE source_id = ?", (old["id"],)
                ).fetchone()[0]
                conn.execute("DELETE FROM sources WHERE id = ?", (old["id"],))
            cur = conn.execute(
                "INSERT INTO sources (path, name, sha256, reader, n_chars, ingested_at, settings_digest)"
                " VALUES (?,?,?,?,?,?,?)",
                (path, name, sha256, reader, n_chars, _now(), settings_digest),
            )
            source_id = cur.lastrowid
            taken = {r["id"] for r in conn.execute("SELECT id FROM documents")}
            ids = stable_ids.document_ids(name, documents, taken)
            for seq, (doc_id, doc) in enumerate(zip(ids, documents), start=1):
                conn.execute(
                    "INSERT INTO documents (id, source_id, seq, kind, title, text, src_start, src_end,"
                    " locator, respondent, offset_map) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (doc_id, source_id, seq, doc.kind, doc.title, doc.text, doc.src_start,
                     doc.src_end, doc.locator, doc.respondent or doc_id,
                     json.dumps(doc.offset_map) if doc.offset_map else None),
                )
                conn.executemany(
                    "INSERT INTO doc_attributes (document_id, key, value) VALUES (?,?,?)",
                    [(doc_id, k, str(v)) for k, v in sorted(doc.attributes.items()) if v not in (None, "")],
                )
        return ids, replaced

    def pseudonyms(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT digest, placeholder, kind FROM pseudonyms").fetchall()

    def sources(self) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT s.*, (SELECT COUNT(*) FROM documents d WHERE d.source_id = s.id) AS n_documents"
            " FROM sources s ORDER BY s.id"
        ).fetchall()

    def documents(self, kinds: Iterable[str] | None = None) -> list[sqlite3.Row]:
        sql = ("SELECT d.*, s.path AS source_path, s.name AS source_name FROM documents d"
               " JOIN sources s ON s.id = d.source_id")
        params: list = []
        if kinds:
            kinds = list(kinds)
            sql += f" WHERE d.kind IN ({','.join('?' * len(kinds))})"
            params = kinds
        return self.conn.execute(sql + " ORDER BY s.id, d.seq", params).fetchall()

    def attributes(self) -> dict[str, dict[str, str]]:
        """document id -> {key: value}."""
        out: dict[str, dict[str, str]] = {}
        for row in self.conn.execute("SELECT document_id, key, value FROM doc_attributes"):
            out.setdefault(row["document_id"], {})[row["key"]] = row["value"]
        return out

    # -- segments -----------------------------------------------------------------------------
    def replace_segments(self, rows: list[tuple[str, str, int, str, int, int]],
                         document_ids: list[str]) -> None:
        """Replace the segments of the given documents: rows are (id, document_id, seq, text,
        start, end). One transaction."""
        with self.transaction() as conn:
            conn.executemany("DELETE FROM segments WHERE document_id = ?", [(d,) for d in document_ids])
            conn.executemany(
                'INSERT INTO segments (id, document_id, seq, text, start_char, end_char) VALUES (?,?,?,?,?,?)',
                rows,
            )

    def segments(self) -> list[sqlite3.Row]:
        return self.conn.execute(
            'SELECT g.id, g.document_id, g.seq, g.text, g.start_char, g.end_char, d.kind, d.title,'
            " d.src_start, d.locator, d.respondent, d.offset_map, s.path AS source_path, s.name AS source_name"
            " FROM segments g JOIN documents d ON d.id = g.document_id"
            " JOIN sources s ON s.id = d.source_id ORDER BY s.id, d.seq, g.seq"
        ).fetchall()

    def segment_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM segments")}

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- embeddings cache ---------------------------------------------------------------------
    def get_embeddings(self, model_id: str, hashes: set[str]) -> dict:
        import numpy as np
        out = {}
        hashes = list(hashes)
        for start in range(0, len(hashes), 900):
            chunk = hashes[start:start + 900]
            rows = self.conn.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE model_id = ? AND text_hash IN ({','.join('?' * len(chunk))})",
                [model_id, *chunk]).fetchall()
            out.update({r["text_hash"]: np.frombuffer(r["vector"], dtype=np.float32) for r in rows})
        return out

    def put_embeddings(self, model_id: str, items) -> None:
        import numpy as np
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings (model_id, text_hash, vector) VALUES (?,?,?)",
                             [(model_id, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items])

    # -- themes -------------------------------------------------------------------------------
    def replace_themes(self, themes: list[dict], assignments: list[tuple[str, str, float, str]],
                       counts: dict | None = None) -> None:
        """The latest theme run: themes (dicts with id, label, ...), (segment, theme, score, how)
        rows and the run's counts (meta 'themes_counts'); one transaction."""
        with self.transaction() as conn:
            if counts is not None:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('themes_counts', ?)",
                             (json.dumps(counts, ensure_ascii=False),))
            conn.execute("DELETE FROM assignments")
            conn.execute("DELETE FROM themes")
            conn.executemany("INSERT INTO themes (id, seq, label, data) VALUES (?,?,?,?)",
                             [(t["id"], i, t["label"], json.dumps(t, ensure_ascii=False)) for i, t in enumerate(themes)])
            conn.executemany("INSERT INTO assignments (segment_id, theme_id, score, how) VALUES (?,?,?,?)", assignments)

    def themes(self) -> list[dict]:
        return [json.loads(r["data"]) for r in self.conn.execute("SELECT data FROM themes ORDER BY seq")]

    def assignments(self) -> dict[str, tuple[str, float, str]]:
        return {r["segment_id"]: (r["theme_id"], r["score"], r["how"])
                for r in self.conn.execute("SELECT * FROM assignments")}

    def count(self, table: str) -> int:
        assert table in {"sources", "documents", "segments", "runs", "embeddings", "themes", "assignments"}
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
