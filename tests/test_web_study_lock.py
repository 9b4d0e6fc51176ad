"""One writer per study across processes (issue 18, item 11): the study lock the page takes is
the one the CLI and the notebooks' Study take, re-entrant within a process (the page's own jobs
and a Study method calling another never refuse themselves), refused with a Swedish message
naming the study in another process. Real processes, real files, real store."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from conftest import OWN_QUOTES, ROOT

TOKEN = "tok-lock"
TEXT = ("Samordningsteam Ekbacka\n\n- ”Jag fick hjälp att hitta en praktikplats som passade mig.”\n"
        "- ”Personalen lyssnade alltid och tog mig på allvar.”\n- ”Gruppträffarna gav mig struktur i veckan.”\n")


@pytest.fixture
def study(tmp_path):
    from pipeline import Study
    path = tmp_path / "studier" / "Vår studie"
    src = tmp_path / "svar.md"
    src.write_text(TEXT, encoding="utf-8")
    with Study(path) as s:
        s.ingest(src)
    return path


def _cli(study, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--study", str(study)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _page(study):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    app = create_app(study.parent, TOKEN)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.get(f"/?token={TOKEN}")
    client.csrf = csrf_token(TOKEN)
    client.runner = app.state.runner
    return client


def test_a_notebook_in_another_process_holds_the_study_and_the_cli_and_page_wait(study, capsys):
    from pipeline import Study, cli
    from pipeline.study import StudyBusy
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom pipeline import Study\ns = Study(sys.argv[1], create=False)\n"
        "with s.lock():\n    print('held', flush=True)\n    sys.stdin.readline()\n"), str(study)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = sorted(p.name for p in study.iterdir())
        # the CLI in this process: refused before anything is written, the study named
        assert cli.main(["themes", "--study", str(study)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("FEL: Studien 'Vår studie' är upptagen: Arbete i en notebook pågår redan")
        assert "Vänta tills den är klar" in err
        assert sorted(p.name for p in study.iterdir()) == before           # no codebook.yaml, no out/
        with Study(study, create=False) as s:
            with pytest.raises(StudyBusy, match="Vår studie"):
                s.segment()
            assert s.info(review=False)["segments"]                        # reading is never refused
        # the page: a button that writes is refused with the same message (409), the page still reads
        web = _page(study)
        r = web.post("/studie/Vår studie/teman/kor", data={"csrf": web.csrf})
        assert r.status_code == 409 and "Studien &#39;Vår studie&#39; är upptagen" in r.text
        r = web.post("/studie/Vår studie/filer", data={"csrf": web.csrf}, files=[("filer", ("b.md", TEXT.encode()))])
        assert r.status_code == 409 and not (study / "källfiler" / "b.md").exists()
        assert web.get("/studie/Vår studie/inlast").status_code == 200
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    assert holder.returncode == 0
    assert cli.main(["segment", "--study", str(study)]) == 0               # released: the CLI works again


def test_a_job_on_the_page_refuses_a_cli_run_in_another_process_but_not_itself(study):
    from pipeline import Study
    web = _page(study)
    inside, go_on = threading.Event(), threading.Event()

    def work(job):
        with Study(study, create=False) as s:                              # the job's own writes: not refused
            s.segment()
        inside.set()
        assert go_on.wait(120)
        with Study(study, create=False) as s:
            s.segment()

    web.runner.start(study, "themes", work)
    try:
        assert inside.wait(60)
        run = _cli(study, "themes")
        assert run.returncode == 2, run.stdout + run.stderr
        assert "FEL: Studien 'Vår studie' är upptagen: Beräkning av teman pågår redan" in run.stderr
        assert not (study / "codebook.yaml").exists()
        # the same process: one job at a time per study (two tabs)
        r = web.post("/studie/Vår studie/teman/kor", data={"csrf": web.csrf})
        assert r.status_code == 409 and "Beräkning av teman pågår redan" in r.text
    finally:
        go_on.set()
        web.runner.wait(study)
    assert web.get("/studie/Vår studie/jobb").json()["status"] == "ok"
    run = _cli(study, "segment")
    assert run.returncode == 0, run.stderr


PAGE_EDIT = """
import sys
from pathlib import Path
from starlette.testclient import TestClient
from pipeline.web.app import create_app
from pipeline.web.security import csrf_token
study, theme = Path(sys.argv[1]), sys.argv[2]
client = TestClient(create_app(study.parent, "tok"), base_url="http://127.0.0.1")
client.get("/?token=tok")
r = client.post(f"/studie/{study.name}/teman/andra", follow_redirects=False,
                data={"csrf": csrf_token("tok"), "action": "rename", "theme": theme, "value": "Omdöpt mitt i"})
print(r.status_code)
print(r.text)
"""


def test_cli_run_holds_the_study_from_files_to_draft(tmp_path, monkeypatch, capsys):
    """`narrativ run` holds the study lock over all its steps: the page (another process) trying to
    rename a theme between the themes step and the draft is refused, naming the run, and the draft
    and codebook.yaml are the run's own."""
    from pipeline import cli
    from pipeline import codebook as cb
    from pipeline.study import held_here
    study = tmp_path / "studier" / "Körd studie"
    src = OWN_QUOTES                                  # enough answers for themes
    seen = {}
    report = cli._report_themes

    def between(result, study_dir):                   # after themes, before the draft
        report(result, study_dir)
        seen["held"] = held_here(study_dir)
        assert result.themes
        theme = result.themes[0].id
        page = subprocess.run([sys.executable, "-c", PAGE_EDIT, str(study_dir), theme], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        seen["page"] = page.stdout
        seen["codebook"] = (study_dir / cb.CODEBOOK_FILE).read_text(encoding="utf-8")
    monkeypatch.setattr(cli, "_report_themes", between)
    assert cli.main(["run", str(src), "--study", str(study)]) == 0
    assert seen["held"]
    status, _, text = seen["page"].partition("\n")
    assert status == "409", seen["page"][:300]
    assert "En hel körning (narrativ run) pågår redan" in text
    assert (study / cb.CODEBOOK_FILE).read_text(encoding="utf-8") == seen["codebook"]
    assert "Omdöpt mitt i" not in (study / "out" / "draft.json").read_text(encoding="utf-8")
    assert not held_here(study)                        # released when the run ends
    from pipeline.study import StudyLock
    with StudyLock(study, "test"):
        pass
