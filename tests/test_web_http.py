"""The kansli's web page at the HTTP level (Starlette's TestClient against the real app, real
files, real store): the access token, cross-site requests, bad input, no path traversal, one
job at a time per study (also across processes), an interrupted job reported at the next start,
and edits written to codebook.yaml / study.toml so that the CLI and the Study API see them."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import DEMO, ROOT
from files import make_pdf, make_xlsx

TOKEN = "test-token-123"


@pytest.fixture
def web(tmp_path):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    studies = tmp_path / "studier"
    app = create_app(studies, TOKEN)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.get(f"/?token={TOKEN}").status_code == 200
    client.csrf = csrf_token(TOKEN)
    client.studies = studies
    client.runner = app.state.runner
    return client


def _create(web, name="Studie 1"):
    r = web.post("/studier", data={"name": name, "csrf": web.csrf})
    assert r.status_code == 200, r.text
    return web.studies / name


def _upload(web, name, files, status=200):
    r = web.post(f"/studie/{name}/filer", data={"csrf": web.csrf},
                 files=[("filer", (fname, data)) for fname, data in files])
    assert r.status_code == status, r.text
    web.runner.wait(web.studies / name)
    return r


def _main(html: str) -> str:
    """The page's text (tags dropped), for checking what a person reads."""
    import html as h
    return h.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


GOOD = "Samordningsteam Ekbacka\n\n- ”Jag fick hjälp att hitta en praktikplats som passade mig.”\n" \
       "- ”Personalen lyssnade alltid och tog mig på allvar.”\n- ”Gruppträffarna gav mig struktur i veckan.”\n"


def test_token_is_required_for_every_page(tmp_path):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    client = TestClient(create_app(tmp_path / "studier", TOKEN), base_url="http://127.0.0.1")
    for url in ("/", "/studie/x/filer", "/static/style.css", "/studie/x/jobb", "/studie/x/ladda-ner/narrativ.docx"):
        r = client.get(url)
        assert r.status_code == 403 and "åtkomstkod" in r.text, url
    assert client.get("/?token=wrong").status_code == 403
    r = client.post("/studier", data={"name": "x"})
    assert r.status_code == 403
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    # another host name (DNS rebinding) is refused
    r = client.get("/", headers={"host": "evil.example"})
    assert r.status_code == 400 and "inte är den här datorn" in r.text and "Invalid" not in r.text


def test_cross_site_forms_are_refused(web):
    r = web.post("/studier", data={"name": "Utan kod"})
    assert r.status_code == 403 and "säkerhetskod" in r.text
    r = web.post("/studier", data={"name": "Fel kod", "csrf": "0" * 32})
    assert r.status_code == 403
    r = web.post("/studier", data={"name": "Annan sajt", "csrf": web.csrf}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "annan webbplats" in r.text
    assert not web.studies.exists() or not any(web.studies.iterdir())
    r = web.post("/studier", data={"name": "Rätt", "csrf": web.csrf}, headers={"origin": "http://127.0.0.1"})
    assert r.status_code == 200 and (web.studies / "Rätt" / "store.sqlite").exists()


def test_no_path_from_the_browser_reaches_the_file_system(web, tmp_path):
    for bad in ("../utanför", "a/b", ".dold", "..", "", "x" * 61, "C:\\temp"):
        r = web.post("/studier", data={"name": bad, "csrf": web.csrf})
        assert r.status_code == 400 and "studienamn" in r.text, bad
    assert sorted(p.name for p in tmp_path.iterdir()) == ["studier"]
    _create(web, "S")
    for url in ("/studie/..%2F..%2Fetc/filer", "/studie/%2E%2E/filer", "/studie/finns-inte/teman"):
        assert web.get(url).status_code == 404, url
    for name in ("store.sqlite", "study.toml", "..%2Fstudy.toml", "draft.json"):
        r = web.get(f"/studie/S/ladda-ner/{name}")
        assert r.status_code == 404 and "store" not in r.headers.get("content-type", "") , name
    # an upload's folder part is dropped: the file lands in the study's upload folder only
    _upload(web, "S", [("../../../utanför.txt", GOOD.encode()), ("..\\..\\win.txt", GOOD.encode() + b"\n")])
    uploaded = sorted(p.name for p in (web.studies / "S" / "källfiler").iterdir())
    assert uploaded == ["utanför.txt", "win.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["studier"]
    assert sorted(p.name for p in web.studies.iterdir()) == ["S"]


def test_bad_input_gets_a_message_naming_the_file_and_nothing_stored_is_lost(web, tmp_path):
    import tomlkit

    from pipeline import Study
    study = _create(web)
    _upload(web, "Studie 1", [("citat.md", GOOD.encode())])
    with Study(study, create=False) as s:
        before = [(r["name"], r["n_documents"]) for r in s.store.sources()]
    assert before == [("citat.md", 3)]
    toml = study / "study.toml"
    doc = tomlkit.parse(toml.read_text(encoding="utf-8"))
    doc["web"]["max_upload_mb"] = 0.01                           # 10 kB, for this test
    toml.write_text(tomlkit.dumps(doc), encoding="utf-8")
    empty = make_xlsx(tmp_path / "tom.xlsx", ["Team", "Vad har varit bra?"], [])
    broken_zip = b"PK\x03\x04" + b"\x00" * 40 + b"inte en riktig word-fil"
    r = _upload(web, "Studie 1", [
        ("bild.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),            # a picture named .pdf
        ("program.exe", b"MZ\x90\x00binary"),                          # a type not read at all
        ("text.docx", GOOD.encode()),                                  # text named .docx
        ("stor.txt", ("Ett långt svar om stödet. " * 800).encode()),  # over the limit
        ("trasig.docx", broken_zip),                                   # a zip, but no Word file
        ("inskannad.pdf", make_pdf([[], []])),                         # no text layer
        ("tom.xlsx", empty.read_bytes()),                              # an empty spreadsheet
        ("nytt.txt", "Jag fick stöd att söka jobb och har nu en anställning.\n".encode()),
    ])
    page = _main(web.get("/studie/Studie 1/filer").text)
    expected = {
        "bild.pdf": "innehållet är inte en PDF",
        "program.exe": "filtypen '.exe' kan inte läsas",
        "text.docx": "innehållet är inte en Word-fil",
        "stor.txt": "filen är för stor",
        "trasig.docx": "inte en läsbar Word-fil",
        "inskannad.pdf": "inget textlager",
        "tom.xlsx": "kalkylbladet är tomt",
    }
    for name, problem in expected.items():
        assert re.search(re.escape(name) + r": [^•]*?" + re.escape(problem), page), (name, problem, page[:3000])
    with Study(study, create=False) as s:
        after = {r["name"]: r["n_documents"] for r in s.store.sources()}
    assert after == {"citat.md": 3, "nytt.txt": 1}                  # the good file in, nothing lost
    # files that failed are not kept for the next reading
    assert sorted(p.name for p in (study / "källfiler").iterdir()) == ["citat.md", "nytt.txt"]
    r = web.post("/studie/Studie 1/filer", data={"csrf": web.csrf})
    assert r.status_code == 400 and "minst en fil" in r.text


def test_a_second_job_on_the_same_study_is_refused_clearly(web):
    _create(web)
    demo = sorted(DEMO.iterdir())
    r = web.post("/studie/Studie 1/filer", data={"csrf": web.csrf},
                 files=[("filer", (p.name, p.read_bytes())) for p in demo])
    assert r.status_code == 200
    assert web.runner.running(web.studies / "Studie 1") is not None     # the ingest runs in the background
    page = web.get("/studie/Studie 1/teman")                            # the page stays usable
    assert page.status_code == 200 and 'id="job"' in page.text
    r = web.post("/studie/Studie 1/teman/kor", data={"csrf": web.csrf})
    assert r.status_code == 409
    assert "upptagen: Inläsning av filer pågår redan" in _main(r.text)
    web.runner.wait(web.studies / "Studie 1")
    status = web.get("/studie/Studie 1/jobb").json()
    assert status["running"] is False and status["status"] == "ok" and not status["problems"]


def test_another_process_holding_the_study_refuses_a_job(web):
    study = _create(web)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire();"  # the OS lock, any OS
        " print('held', flush=True); time.sleep(120)"), str(study / ".narrativ.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = web.post("/studie/Studie 1/filer", data={"csrf": web.csrf}, files=[("filer", ("a.md", GOOD.encode()))])
        assert r.status_code == 409 and "pågår redan" in r.text
        assert not (study / "källfiler" / "a.md").exists()
    finally:
        holder.kill()
        holder.wait()
    _upload(web, "Studie 1", [("a.md", GOOD.encode())])
    assert (study / "källfiler" / "a.md").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_stopped_mid_job_loses_nothing_and_the_next_start_says_so(tmp_path):
    import httpx
    from starlette.testclient import TestClient

    from pipeline import Study
    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    studies, port = tmp_path / "studier", _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--studies", str(studies),
                               "--port", str(port), "--no-browser"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        for line in server.stdout:
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url, "serve printed no address with a token"
        token = url.split("token=")[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(100):                                      # wait until it listens
                try:
                    c.get("/")
                    break
                except httpx.ConnectError:
                    import time
                    time.sleep(0.1)
            assert c.get(f"/?token={token}", follow_redirects=True).status_code == 200
            csrf = csrf_token(token)
            assert c.post("/studier", data={"name": "demo", "csrf": csrf}).status_code == 303
            r = c.post("/studie/demo/filer", data={"csrf": csrf},
                       files=[("filer", (p.name, p.read_bytes())) for p in sorted(DEMO.iterdir())])
            assert r.status_code == 303
            assert c.get("/studie/demo/jobb").json()["running"] is True
    finally:
        server.send_signal(signal.SIGKILL)                               # as if the machine stopped
        server.wait()
    study = studies / "demo"
    with Study(study, create=False) as s:                                # the store opens, whole
        assert s.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    app = create_app(studies, TOKEN)
    client = TestClient(app, base_url="http://127.0.0.1")
    page = _main(client.get(f"/?token={TOKEN}").text)
    assert "demo: Förra gången avbröts 'Inläsning av filer'" in page
    status = client.get("/studie/demo/jobb").json()
    assert status["last"]["status"] == "interrupted"
    # and reading the files again finishes the job
    r = client.post("/studie/demo/filer", data={"csrf": csrf_token(TOKEN)},
                    files=[("filer", (p.name, p.read_bytes())) for p in sorted(DEMO.iterdir())])
    assert r.status_code == 200
    app.state.runner.wait(study)
    with Study(study, create=False) as s:
        assert len(s.store.sources()) == len(list(DEMO.iterdir()))


def test_review_list_word_goes_to_study_toml_and_files_are_read_again(web):
    from pipeline import Study
    study = _create(web)
    text = "Vi pratade med Zorbul om vägen framåt varje vecka. Det gav mig mod att söka en praktik.\n"
    _upload(web, "Studie 1", [("svar.txt", text.encode())])
    page = web.get("/studie/Studie 1/inlast").text
    assert re.search(r'class="word">Zorbul<', page)
    r = web.post("/studie/Studie 1/integritet", data={"csrf": web.csrf, "word": "Zorbul", "list": "deny"})
    assert r.status_code == 200
    web.runner.wait(study)
    toml = (study / "study.toml").read_text(encoding="utf-8")
    assert re.search(r'^deny = \["Zorbul"\]', toml, re.M)
    assert "# Person names always replaced" in toml                     # comments kept
    from pipeline import config
    assert config.load(study)["privacy"]["deny"] == ["Zorbul"]
    with Study(study, create=False) as s:
        texts = " ".join(g["text"] for g in s.store.segments())
    assert "Zorbul" not in texts and "[NAMN 1]" in texts
    page = web.get("/studie/Studie 1/inlast").text
    assert "[NAMN 1]" in page and 'class="word">Zorbul<' not in page
    # the other list: the word moves from deny to keep
    web.post("/studie/Studie 1/integritet", data={"csrf": web.csrf, "word": "Zorbul", "list": "keep"})
    web.runner.wait(study)
    cfg = config.load(study)["privacy"]
    assert cfg["deny"] == [] and cfg["keep"] == ["Zorbul"]


def test_theme_edits_are_written_to_the_codebook_and_seen_by_the_cli(demo_copy, capsys):
    import docx
    import yaml
    from starlette.testclient import TestClient

    from pipeline import Study, cli
    from pipeline import codebook as cb
    from pipeline.web import edits
    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    app = create_app(demo_copy.parent, TOKEN)
    web = TestClient(app, base_url="http://127.0.0.1")
    web.get(f"/?token={TOKEN}")
    csrf = csrf_token(TOKEN)
    page = web.get("/studie/studie/teman").text
    ids = re.findall(r'<tr class="theme-row" id="theme-(T\d+)"', page)
    assert len(ids) >= 5
    first, second, third, fourth, fifth = ids[:5]

    r = web.post("/studie/studie/teman/andra", data={"csrf": csrf, "action": "rename", "theme": first,
                                                     "value": "Vårt eget namn på temat"})
    assert r.status_code == 200 and "Teman beräknas om" in r.text
    app.state.runner.wait(demo_copy)
    raw = (demo_copy / "codebook.yaml").read_text(encoding="utf-8")
    assert raw.startswith(cb.HEADER)
    entry = next(t for t in yaml.safe_load(raw)["themes"] if t["id"] == first)
    assert entry["label"] == "Vårt eget namn på temat" and entry.get("auto_label") != entry["label"]
    with Study(demo_copy, create=False) as s:
        assert {t["id"]: t["label"] for t in s.store.themes()}[first] == "Vårt eget namn på temat"
    assert "Vårt eget namn på temat" in web.get("/studie/studie/teman").text

    # the other edits, as the page writes them; then one run
    before = {t["id"]: t for t in yaml.safe_load((demo_copy / "codebook.yaml").read_text(encoding="utf-8"))["themes"]}
    with Study(demo_copy, create=False) as s:
        themes = {t["id"]: t for t in s.store.themes()}
    pin = themes[second]["segment_ids"][-1]
    move = themes[second]["segment_ids"][0]
    assert pin != move
    for action, theme, value, segment in (("pin", second, "", pin), ("move", second, third, move),
                                          ("merge", fourth, third, ""), ("split", fifth, "", "")):
        edits.edit_theme(demo_copy, action, theme, value, segment)
    saved = {t["id"]: t for t in yaml.safe_load((demo_copy / "codebook.yaml").read_text(encoding="utf-8"))["themes"]}
    assert saved[second]["pinned"] == [pin] and saved[fourth]["merge_into"] == third and saved[fifth]["split"] == 2
    assert cb.load(demo_copy / "codebook.yaml").moves == {move: third}
    for tid, entry in before.items():                                   # narrativ's own fields kept, as by hand
        assert {k: saved[tid].get(k) for k in edits.WRITTEN_BY_US} == {k: entry.get(k) for k in edits.WRITTEN_BY_US}
    r = web.post("/studie/studie/teman/kor", data={"csrf": csrf})
    assert r.status_code == 200
    app.state.runner.wait(demo_copy)
    assert web.get("/studie/studie/jobb").json()["status"] == "ok"
    with Study(demo_copy, create=False) as s:
        themes = {t["id"]: t for t in s.store.themes()}
    assert themes[second]["representative"][0] == pin
    assert move in themes[third]["segment_ids"] and fourth not in themes
    assert fifth not in themes and len(set(themes) - set(before)) >= 2          # split into new themes
    assert fourth in next(t for t in yaml.safe_load((demo_copy / "codebook.yaml").read_text(encoding="utf-8"))["themes"]
                          if t["id"] == third)["merged_from"]

    # exclude from the page: the theme leaves the analysis
    r = web.post("/studie/studie/teman/andra", data={"csrf": csrf, "action": "exclude", "theme": second})
    assert r.status_code == 200
    app.state.runner.wait(demo_copy)
    with Study(demo_copy, create=False) as s:
        assert second not in {t["id"] for t in s.store.themes()}
    assert "Borttagna teman" in web.get("/studie/studie/teman").text

    # the draft from the page, downloaded; the CLI's draft has the same label
    r = web.post("/studie/studie/utkast/kor", data={"csrf": csrf})
    assert r.status_code == 200
    app.state.runner.wait(demo_copy)
    page = web.get("/studie/studie/utkast").text
    assert "<details><summary>Bygger på" in page
    r = web.get("/studie/studie/ladda-ner/narrativ.docx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    path = demo_copy.parent / "hämtad.docx"
    path.write_bytes(r.content)
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "Vårt eget namn på temat" in text
    assert cli.main(["draft", "--study", str(demo_copy)]) == 0
    capsys.readouterr()
    cli_text = "\n".join(p.text for p in docx.Document(str(demo_copy / "out" / "narrativ.docx")).paragraphs)
    assert "Vårt eget namn på temat" in cli_text


def test_another_address_only_when_asked_and_with_a_warning(tmp_path):
    """By default the page listens on 127.0.0.1; `--host` (here 127.0.0.2, still this machine)
    warns that others could reach it."""
    from pipeline import cli
    args = cli.build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--studies", str(tmp_path / "s"),
                               "--host", "127.0.0.2", "--port", str(port), "--no-browser"], cwd=ROOT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "?token=" in line:
                break
        out = "".join(lines)
        assert out.startswith("VARNING: sidan nås nu från andra datorer via 127.0.0.2")
        assert f"http://127.0.0.2:{port}/?token=" in out
    finally:
        server.kill()
        server.wait()


def _listed(page: str) -> list[str]:
    table = page.split('id="kept-words"')[1].split("</table>")[0]
    return re.findall(r'<td class="word">([^<]+)</td>', table)


def test_review_list_is_paged_with_every_candidate_and_its_sentence(web):
    """Issue 21 item 3 on the page: every remaining candidate, most likely names first, each with
    its sentence, page by page; likely non-names stay out; marks and undo keep the page."""
    import itertools

    from pipeline import Study
    from pipeline.overview import review_page
    from pipeline.web import edits
    from pipeline.web.app import REVIEW_PAGE
    study = _create(web)
    words = [a + b for a, b in itertools.product(["Zor", "Kav", "Mol", "Triv", "Dax", "Bel", "Nusk", "Fel", "Gor", "Hul"],
                                                 ["bul", "rek", "vint", "dosk", "mur", "tep"])]
    lines = [f"Vi pratade om {w} och vägen framåt varje vecka." for w in words]
    lines += ["Det var bra att komma dit.", "Jag fick hjälp med allt.", "Nu mår jag bättre."]
    _upload(web, "Studie 1", [("svar.txt", "\n\n".join(lines).encode())])
    with Study(study, create=False) as s:
        every = review_page(s.store, s.config, 0, 10_000)["items"]
    expected = [k["word"] for k in every if not edits.likely_not_a_name(k["word"])]
    assert len(expected) > 2 * REVIEW_PAGE - 10 and len(expected) > REVIEW_PAGE       # longer than one page

    pages, offset = [], 0
    while True:
        page = web.get(f"/studie/Studie 1/inlast?fran={offset}").text
        listed = _listed(page)
        assert listed == expected[offset:offset + REVIEW_PAGE]                          # most likely first
        text = _main(page)
        assert f"Visar {offset + 1}–{offset + len(listed)} av {len(expected)}" in text
        for w in listed:                                                              # each with its sentence
            assert re.search(rf'<td class="word">{w}</td><td>\d+</td>\s*<td class="context"><q>[^<]*\b{w}\b', page), w
        pages.append(listed)
        if 'rel="next"' not in page:
            break
        offset = int(re.search(r'href="\?fran=(\d+)#kvar" rel="next"', page).group(1))
    assert [w for p in pages for w in p] == expected                                   # the whole list is reachable
    assert len(pages) == -(-len(expected) // REVIEW_PAGE)
    assert not {"Det", "Jag", "Nu"} & set(expected)
    assert _listed(web.get("/studie/Studie 1/inlast?fran=9999").text) == pages[-1]   # past the end: the last page
    assert _listed(web.get("/studie/Studie 1/inlast?fran=x").text) == pages[0]

    # "Är ett namn" on page 2: back on page 2, the word replaced everywhere, one fewer listed
    word = pages[1][0]
    r = web.post("/studie/Studie 1/integritet", data={"csrf": web.csrf, "word": word, "list": "deny",
                                                      "fran": str(REVIEW_PAGE)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"/inlast?fran={REVIEW_PAGE}#kvar")
    web.runner.wait(study)
    with Study(study, create=False) as s:
        assert not any(word in g["text"] for g in s.store.segments())
    page = web.get(f"/studie/Studie 1/inlast?fran={REVIEW_PAGE}").text
    assert word not in _listed(page) and f"av {len(expected) - 1}" in _main(page)
    # undo: the texts are given back; the word stands among the person's "not a name" words
    # (the pseudonymiser remembers a replaced name), where "Är ett namn" is offered again
    r = web.post("/studie/Studie 1/angra", data={"csrf": web.csrf, "from": "inlast"})
    assert r.status_code == 200 and "Ångrat:" in r.text
    web.runner.wait(study)
    with Study(study, create=False) as s:
        assert any(word in g["text"] for g in s.store.segments())
    page = web.get(f"/studie/Studie 1/inlast?fran={REVIEW_PAGE}").text
    assert _listed(page) == [w for w in expected if w != word][REVIEW_PAGE:2 * REVIEW_PAGE]
    assert f'class="word">{word}<' in page.split("Ord du har markerat som inte namn")[1]
    # "Inte ett namn": out of the list, listed as the person's own choice
    other = pages[0][1]
    web.post("/studie/Studie 1/integritet", data={"csrf": web.csrf, "word": other, "list": "keep", "fran": "0"})
    web.runner.wait(study)
    page = web.get("/studie/Studie 1/inlast").text
    assert other not in _listed(page)
    assert f'class="word">{other}<' in page.split("Ord du har markerat som inte namn")[1]


def _serve(studies, port, *extra):
    """`narrativ serve` in its own process; returns (process, token, lines printed until ready)."""
    import httpx
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--studies", str(studies), "--port", str(port),
                             "--no-browser", *extra], cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, token = [], None
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"\?token=(\S+)", line)
        token = m.group(1) if m else token
        if "Stäng med Ctrl+C" in line:
            break
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            break
        except httpx.ConnectError:
            import time
            time.sleep(0.1)
    return proc, token, "".join(lines)


def _stop(proc) -> str:
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=120)[0]
    return out


def test_a_restart_keeps_the_link_and_ctrl_c_stops_cleanly_even_mid_job(demo_copy):
    """Issue 18 item 7: the token is kept in the studies folder (owner-only), so an open page and
    its cookie work after a restart; Ctrl+C ends the server at once and cleanly, also while a job
    runs inside torch (no "terminate called without an active exception"), and the next start
    says what was cut off."""
    import stat
    import time

    import httpx

    from pipeline import Study
    from pipeline.web.security import TOKEN_FILE, csrf_token
    studies, port = demo_copy.parent, _free_port()
    with Study(demo_copy, create=False) as s:                       # the embeddings computed again: a long job
        s.store.conn.execute("DELETE FROM embeddings")
        s.store.conn.commit()
    proc, token, out = _serve(studies, port)
    try:
        saved = studies / TOKEN_FILE
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and token in saved.read_text(encoding="utf-8")
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        r = c.get(f"/?token={token}")
        assert r.status_code == 303 and "max-age" in r.headers["set-cookie"].lower()   # bookmarks keep working
        assert c.post("/studie/studie/teman/kor", data={"csrf": csrf_token(token)}).status_code == 303
        time.sleep(3)                                                     # well inside the job (about 9 s)
        status = c.get("/studie/studie/jobb").json()
        assert status.get("running"), str(status)[:2000]
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
    assert "terminate called" not in out and "Traceback" not in out, out
    assert "'Beräkning av teman' för studien studie avbröts" in out and "narrativ är stängd" in out

    proc, again, out = _serve(studies, port)
    try:
        assert again == token                                             # the same link after a restart
        page = c.get("/studie/studie/teman")                              # the open page's cookie still works
        assert page.status_code == 200
        assert "Förra gången avbröts 'Beräkning av teman'" in _main(page.text)
    finally:
        out = _stop(proc)
    assert proc.returncode == 0 and "terminate called" not in out and "för studien studie avbröts" not in out, out

    proc, renewed, _ = _serve(studies, port, "--new-token")              # asked for: a new code
    try:
        assert renewed != token and c.get("/studie/studie/teman").status_code == 403
    finally:
        _stop(proc)
    (studies / TOKEN_FILE).chmod(0o644)                                   # others could read it: not used
    proc, fresh, out = _serve(studies, port)
    try:
        assert fresh != renewed and "kunde läsas av andra" in out
        assert stat.S_IMODE((studies / TOKEN_FILE).stat().st_mode) == 0o600
    finally:
        _stop(proc)


def test_word_comments_name_files_and_teams_with_segment_ids_in_a_small_note(demo_copy):
    """Issue 18 item 10: a Word comment says where a paragraph comes from in the kansli's words
    (files, teams, how many places); the segment ids only in a small grey note after it."""
    import json

    import docx
    document = docx.Document(str(demo_copy / "out" / "narrativ.docx"))
    draft = json.loads((demo_copy / "out" / "draft.json").read_text(encoding="utf-8"))
    comments = list(document.comments)
    assert len(comments) == len(draft["paragraphs"])
    for comment, para in zip(comments, draft["paragraphs"]):
        visible, note = comment.paragraphs[0].text, comment.paragraphs[-1]
        assert visible.startswith("Källor: ") and "narrativ.xlsx" in visible
        assert not any(sid in visible for sid in para["segment_ids"]), visible
        assert re.search(r"\.(md|txt|docx|xlsx|csv|pdf) \(\d+", visible), visible
        assert note.text.startswith("För spårning") and all(sid in note.text for sid in para["segment_ids"])
        assert all(r.font.size is not None and r.font.size.pt <= 7 for r in note.runs)


def test_a_page_read_while_a_job_ran_shows_the_job_and_reloads(web, monkeypatch):
    """The page's data and its job banner agree: when the job was still running as the data were
    read, the page shows the job (and reloads when it ends), even if the job has ended by the time
    the page is drawn — never "klar" above a files list from before the job."""
    from pipeline.web import app as web_app
    _create(web)
    read = []                                     # the job ends while the page's data are read
    real_load = web_app.load_step
    monkeypatch.setattr(web_app, "load_step", lambda *a, **k: (read.append(1), real_load(*a, **k))[1])
    job = type("Job", (), {"public": lambda self: {"label": "Inläsning av filer", "what": "Läser", "done": 0,
                                                   "total": 1, "status": "running"}})()
    monkeypatch.setattr(web.runner, "running", lambda path: None if read else job)
    page = web.get("/studie/Studie 1/filer").text
    assert 'id="job"' in page
