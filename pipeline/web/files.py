"""What the browser may name: study names, uploaded files (checked by content, not only by
ending) and the result files offered for download. No path from the browser reaches the file
system: a study is looked up by a validated name under the studies folder, an upload keeps only
a cleaned base name, a download is one of a fixed list."""
from __future__ import annotations

import unicodedata
from pathlib import Path

from ..errors import NarrativError
from ..study import UPLOAD_DIR  # noqa: F401 (re-exported)

# Names as people write them ("Intervju – Sjöholm.txt", "Enkät Q1&Q2.txt", "Sørensen intervju.txt",
# "Berättelse 2025!"): any printable characters; refused are only path separators, control and
# format characters, a leading dot or space (hidden files), "..", Windows' device names and a
# trailing dot or space (below). Lengths in characters.
STUDY_MAX, FILE_MAX = 60, 120
_FORBIDDEN = set('/\\:*?"<>|')          # separators, and what Windows cannot store in a file name


# Windows (the kansli's laptop) reserves these names for devices, with any ending ("NUL.txt",
# "aux.tar.gz" are the device too), and silently drops a name's trailing dots and spaces, so
# "Rapport." would become "Rapport". Refused everywhere, so a study made on Linux moves to Windows.
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"{d}{i}" for d in ("COM", "LPT") for i in "0123456789¹²³")}
# Windows' classic path limit (260 with the drive and the final NUL) for a file in a study
PATH_MAX = 250


def _windows_problem(name: str) -> str | None:
    device = name.split(".")[0].rstrip(" ").upper()
    if device in _RESERVED:
        return (f"'{device}' är ett namn som Windows reserverar för en enhet (även med filändelse, "
                "som NUL.txt)")
    if name[-1] in ". ":
        return "namnet får inte sluta med punkt eller mellanslag (Windows tar bort dem)"
    return None


def _name_problem(name: str, limit: int) -> str | None:
    if not name:
        return "namnet är tomt"
    if len(name) > limit:
        return f"namnet är för långt (högst {limit} tecken)"
    if name[0] in ". " or ".." in name:
        return "namnet får inte börja med punkt eller innehålla '..'"
    bad = sorted({c for c in name if c in _FORBIDDEN or unicodedata.category(c)[0] in "CZ" and c != " "})
    if bad:
        shown = " ".join(repr(c)[1:-1] if unicodedata.category(c)[0] in "CZ" else c for c in bad)
        return f"namnet innehåller tecken som inte går att använda i ett filnamn: {shown}"
    return _windows_problem(name)


def _same_name(folder: Path, name: str, dirs: bool) -> Path | None:
    """An existing entry of `folder` whose name differs from `name` only in case (or Unicode
    form): on Windows and macOS the same file or folder, so it is used as that one everywhere."""
    if not folder.is_dir():
        return None
    key = unicodedata.normalize("NFC", name).casefold()
    for p in folder.iterdir():
        if unicodedata.normalize("NFC", p.name).casefold() == key and p.is_dir() == dirs:
            return p
    return None


def valid_study_name(name: str) -> bool:
    return _name_problem(name, STUDY_MAX) is None and not any(c in name for c in "#%")
DOWNLOADS = {"narrativ.docx": "Word-dokument", "narrativ.xlsx": "Excel-fil", "narrativ.md": "Textfil (för andra program)",
             "teman.png": "Diagram (PNG)"}
MEDIA = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".md": "text/markdown; charset=utf-8", ".png": "image/png"}
KIND_SV = {".docx": "Word-fil", ".xlsx": "Excel-fil", ".pdf": "PDF", ".csv": "CSV-fil",
           ".txt": "textfil", ".md": "textfil (Markdown)"}


class UploadError(NarrativError):
    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"{name}: {problem}")


def study_dir(root: Path, name: str) -> Path:
    """The folder of study `name` under `root`, or NarrativError if the name is not allowed."""
    name = unicodedata.normalize("NFC", name or "").strip()
    problem = _name_problem(name, STUDY_MAX)
    if not problem and any(c in name for c in "#%"):
        problem = "namnet får inte innehålla # eller % (de används i sidans adresser)"
    if problem:
        hint = " (tecknen / \\ : * ? \" < > | går inte att använda)" if "tecken" in problem else ""
        raise NarrativError(f"'{name[:60]}' går inte att använda som studienamn: {problem}{hint}")
    path = (root / name).resolve()
    if path.parent != root.resolve():
        raise NarrativError(f"'{name}' går inte att använda som studienamn")
    if not path.exists():
        path = _same_name(path.parent, name, dirs=True) or path     # "studie 1" is "Studie 1"
    if len(str(path)) + len(UPLOAD_DIR) + 2 + 40 > PATH_MAX:
        raise NarrativError(f"'{name[:60]}' går inte att använda som studienamn: sökvägen till studiens filer blir för "
                            f"lång för Windows (studiemappen {path.parent} ligger djupt); välj ett kortare namn")
    return path


def clean_name(filename: str) -> str:
    """The base name of an uploaded file, without any folder part the browser sent."""
    base = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    problem = _name_problem(base, FILE_MAX)
    if problem:
        raise UploadError(base or "(namnlös fil)", f"filnamnet går inte att använda: {problem}; byt namn på filen")
    return base


def upload_target(folder: Path, name: str, taken: list[Path] = ()) -> Path:
    """Where an upload named `name` is saved in `folder` (källfiler/): a file already there whose
    name differs only in case is the same file on Windows and macOS, so it is replaced everywhere
    ("svar.csv" replaces "Svar.csv"); two uploads of one batch that would be one file, or a path
    too long for Windows, are refused."""
    for other in taken:
        if unicodedata.normalize("NFC", other.name).casefold() == name.casefold():
            raise UploadError(name, f"en annan fil i samma uppladdning heter likadant ('{other.name}'; stora och små "
                              "bokstäver räknas lika i Windows): byt namn på den ena filen")
    target = _same_name(folder, name, dirs=False) or folder / name
    if len(str(target)) + len(".part") + 1 > PATH_MAX:
        raise UploadError(name, f"sökvägen blir för lång för Windows ({len(str(target))} tecken, högst "
                          f"{PATH_MAX - 6}): korta filnamnet eller studiens namn")
    return target


def check_content(name: str, data: bytes, extensions: list[str], max_bytes: int,
                  encodings: list[str]) -> None:
    """Raise UploadError unless `data` is what its ending says and small enough."""
    suffix = Path(name).suffix.lower()
    if suffix not in extensions:
        allowed = ", ".join(e.lstrip(".") for e in extensions)
        raise UploadError(name, f"filtypen '{suffix or 'utan filändelse'}' kan inte läsas (tillåtna: {allowed})")
    if len(data) > max_bytes:
        raise UploadError(name, f"filen är för stor ({len(data) / 1e6:.1f} MB; gränsen är "
                          f"{max_bytes / 1e6:.0f} MB per fil): dela upp filen eller spara den utan bilder")
    if not data.strip():
        raise UploadError(name, "filen är tom")
    kind = KIND_SV.get(suffix, suffix)
    if suffix in (".docx", ".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise UploadError(name, f"innehållet är inte en {kind} (en {kind} är ett zip-arkiv): "
                              "filen är skadad eller har fel filändelse")
        if suffix == ".xlsx" and _filled_rows(data) == 0:
            raise UploadError(name, "kalkylbladet är tomt: det finns inga svar att läsa (inga rader under rubrikraden)")
    elif suffix == ".pdf":
        if not data.lstrip()[:5] == b"%PDF-":
            raise UploadError(name, "innehållet är inte en PDF: filen är skadad eller har fel filändelse")
    else:
        if b"\x00" in data[:65536]:
            raise UploadError(name, f"innehållet är inte en {kind}: filen innehåller binära data")
        for enc in encodings:
            try:
                data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UploadError(name, f"innehållet är inte en {kind}: okänd teckenkodning; spara filen som UTF-8")


def _filled_rows(data: bytes) -> int | None:
    """Rows with any value below the first filled row, over all sheets (None: unreadable, which
    the ingest stage reports in its own words)."""
    import io
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:                    # noqa: BLE001 - any unreadable workbook: ingest says why
        return None
    try:
        filled = 0
        for ws in wb.worksheets:
            rows = [r for r in ws.iter_rows(values_only=True) if any(v not in (None, "") for v in r)]
            filled += max(0, len(rows) - 1)
        return filled
    finally:
        wb.close()


def download_path(study: Path, name: str) -> Path:
    if name not in DOWNLOADS:
        raise NarrativError(f"'{name[:60]}' finns inte att ladda ner")
    return study / "out" / name
