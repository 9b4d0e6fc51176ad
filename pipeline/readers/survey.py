"""Survey exports (.xlsx, .csv): one row per respondent. Free-text columns become answers (one
document per filled cell, the column header kept as `question`); the other columns become
attributes of every answer in the row (team, form pågående/avslut, year, ...).

Columns can be named in study.toml ([ingest.survey] text_columns / attribute_columns);
otherwise text columns are detected: mostly text cells, long enough, mostly distinct.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from ..documents import Document
from ..errors import InputError
from .text_file import decode

MIN_LETTERS = 2


def _cell(value) -> str | None:
    if value is None:
        return None
    try:
        import pandas as pd
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (datetime, date)):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _slug(name: str) -> str:
    return re.sub(r"\s+", "_", str(name).strip().lower())


def _is_text_column(values: list, cfg: dict) -> bool:
    cells = [v for v in values if v is not None]
    if not cells:
        return False
    texts = [v for v in cells if isinstance(v, str) and re.search(r"[A-Za-zÅÄÖåäö]", v)]
    if len(texts) < 0.8 * len(cells):
        return False
    mean_chars = sum(len(t) for t in texts) / len(texts)
    mean_words = sum(len(t.split()) for t in texts) / len(texts)
    distinct = len(set(texts))
    varied = distinct / len(texts) >= cfg["text_min_unique_share"] or distinct > cfg["max_categories"]
    return mean_chars >= cfg["text_min_mean_chars"] and mean_words >= cfg["text_min_mean_words"] and varied


DELIMITERS = (";", "\t", ",", "|")      # ';' first: Excel's "CSV" in Swedish (and other comma-decimal) settings


def delimiter(text: str) -> tuple[str, str]:
    """The column separator of a CSV text, and the text without Excel's "sep=;" line if it has
    one. Otherwise the candidate that splits the first rows (quotes honoured, so commas and line
    breaks inside an answer do not count) into the most consistent number of columns (at least
    two), then the most columns; ';' before ',' on a tie. Python's csv.Sniffer guessed ',' for a
    ';' export whose answers held more commas than the rows held columns."""
    first, _, rest = text.partition("\n")
    m = re.fullmatch(r'\s*"?sep=(.)"?[;,\t]*\s*', first, flags=re.IGNORECASE)
    if m:
        return m.group(1), rest
    best, best_score = ",", None
    for sep in DELIMITERS:
        try:
            rows = [r for r in itertools.islice(csv.reader(io.StringIO(text), delimiter=sep), 200) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        score = (round(sum(len(r) == n for r in rows) / len(rows), 2), n)
        if best_score is None or score > best_score:
            best, best_score = sep, score
    return best, text


def _tables(path: Path, data: bytes, cfg: dict):
    import pandas as pd

    if path.suffix.lower() == ".csv":
        text = decode(path, data, cfg["encodings"])
        sep, text = delimiter(text)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, engine="python", dtype=str,
                                skip_blank_lines=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, TypeError, AttributeError) as exc:
            raise InputError(path, f"CSV-filen går inte att tolka som tabell ({type(exc).__name__})") from None
        return {"": frame}
    try:
        return pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise InputError(path, f"inte en läsbar Excel-fil (.xlsx): filen är skadad eller av annat format ({type(exc).__name__})") from None


def read(path: Path, data: bytes, cfg: dict) -> tuple[int | None, list[Document]]:
    scfg = cfg["survey"]
    aliases = {name: key for key, names in scfg.get("aliases", {}).items() for name in names}
    id_re = re.compile(scfg["id_column"])
    docs: list[Document] = []
    seen_columns: list[str] = []
    for sheet, frame in _tables(path, data, cfg).items():
        frame = frame.dropna(how="all")
        columns = [str(c) for c in frame.columns]
        seen_columns += columns
        rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        if not rows:
            continue
        text_cols, attr_cols, id_col = [], [], None
        for k, col in enumerate(columns):
            values = [r[k] for r in rows]
            if col in scfg["text_columns"]:
                text_cols.append(k)
            elif col in scfg["attribute_columns"]:
                attr_cols.append(k)
            elif id_col is None and id_re.match(col.strip()):
                id_col = k
            elif col.startswith("Unnamed:") and all(v is None for v in values):
                continue
            elif _is_text_column(values, scfg):
                text_cols.append(k)
            else:
                filled = [v for v in values if v is not None]
                # A column of nearly all-distinct short values (names, e-mail, phone) is not a
                # grouping attribute and may be personal data: leave it out.
                if len(filled) > 20 and len(set(filled)) > 0.9 * len(filled):
                    continue
                attr_cols.append(k)
        if not text_cols:
            continue
        sheet_label = f"blad '{sheet}', " if sheet else ""
        for r, row in enumerate(rows):
            excel_row = int(frame.index[r]) + 2   # header is row 1
            respondent = row[id_col] if id_col is not None and row[id_col] else f"rad{excel_row}"
            attrs = {}
            for k in attr_cols:
                if row[k] is not None:
                    key = aliases.get(_slug(columns[k]), columns[k].strip())
                    value = row[k].lower() if key == "form" else row[k]
                    attrs[key] = value
            for k in text_cols:
                cell = row[k]
                if cell is None or len(re.findall(r"[A-Za-zÅÄÖåäöÉé]", cell)) < MIN_LETTERS:
                    continue
                docs.append(Document(
                    "answer", cell, title=columns[k],
                    attributes={**attrs, "question": columns[k]},
                    locator=f"{sheet_label}rad {excel_row}, kolumn '{columns[k]}'",
                    respondent=f"{path.name}:{sheet}:{respondent}",
                    key=f"{sheet}\x1f{row[id_col]}\x1f{columns[k]}" if id_col is not None and row[id_col] else None,
                ))
    if not docs:
        cols = ", ".join(f"'{c}'" for c in seen_columns[:12]) or "inga"
        raise InputError(path, f"inga fritextkolumner hittades (kolumner: {cols}); ange dem i study.toml under [ingest.survey] text_columns")
    return None, docs
