"""The local web page for the kansli (`narrativ serve`): Starlette + Jinja2, server-rendered
pages, plain HTML forms and a few lines of JavaScript (drag and drop, progress polling).

Five steps per study, each a page: files in, what was read (with the pseudonymisation review
list), themes (edit them), the draft, downloads. Everything goes through the Study API, so the
page, the CLI and the notebooks agree. Security (pipeline.web.security): a random access token,
a SameSite=Strict cookie, a CSRF field on every form, an Origin check and a Host check.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import config
from ..errors import NarrativError
from ..store import STORE_FILE
from ..study import Study
from . import edits, files, jobs, security, tasks

STEPS = [("filer", "1. Filer"), ("inlast", "2. Vad som lästes in"), ("teman", "3. Teman"),
         ("utkast", "4. Utkast"), ("ladda-ner", "5. Ladda ner")]
KIND_SV = {"answer": "enkätsvar", "quote": "citat", "interview": "intervjuer", "section": "textavsnitt"}
ATTR_SV = {"team": "Team", "form": "Formulär", "question": "Fråga", "year": "År", "role": "Roll",
           "site": "Ort", "participant": "Deltagare"}


class Page(Exception):
    """Show `message` on the page of `step` with HTTP `status` (a refusal or bad input)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def create_app(studies: Path, token: str, hosts: list[str] | None = None) -> Starlette:
    studies = Path(studies).resolve()
    studies.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=PackageLoader("pipeline.web", "templates"), autoescape=select_autoescape())
    runner = jobs.JobRunner()
    flash: dict[str, list[tuple[str, str]]] = defaultdict(list)
    interrupted = {}
    for d in sorted(p for p in studies.iterdir() if (p / STORE_FILE).exists()):
        job = jobs.interrupted(d)
        if job:
            interrupted[d.name] = job

    # -- helpers ------------------------------------------------------------------------------
    def study_path(request: Request, must_exist: bool = True) -> Path:
        try:
            path = files.study_dir(studies, request.path_params["name"])
        except NarrativError as exc:
            raise Page(str(exc), 404) from None
        if must_exist and not (path / STORE_FILE).exists():
            raise Page(f"Studien '{path.name}' finns inte. Skapa den på startsidan.", 404)
        return path

    def render(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        name = ctx.get("study")
        ctx.setdefault("messages", [])
        if name:
            ctx["messages"] = flash.pop(name, []) + ctx["messages"]
            path = studies / name
            running = runner.running(path)
            ctx["job"] = running.public() if running else None
            ctx["last_job"] = None if running else jobs.last_job(path)
            ctx["steps"] = STEPS
        html = env.get_template(template).render(csrf=security.csrf_token(token), request=request, **ctx)
        return HTMLResponse(html, status_code=status)

    async def form(request: Request):
        data = await request.form(max_files=200, max_fields=50)
        security.check_csrf(data, token)
        return data

    def start(path: Path, kind: str, work, lock=None) -> None:
        try:
            runner.start(path, kind, work, lock=lock)
        except jobs.Busy as exc:
            raise Page(str(exc), 409) from None

    def step_handler(step: str, template: str, load):
        async def handler(request: Request) -> Response:
            try:
                path = study_path(request)
                ctx = await run_in_threadpool(load, path)
            except Page as exc:
                return render(request, "message.html", exc.status, message=exc.message)
            except NarrativError as exc:
                return render(request, "message.html", 400, message=str(exc))
            note = interrupted.pop(path.name, None)
            messages = []
            if note:
                messages.append(("error", interrupted_text(note)))
            return render(request, template, study=path.name, step=step, messages=messages, **ctx)
        return handler

    def failing(step: str, template: str, load):
        """A POST handler: run `fn`; on Page/NarrativError show the step page with the message."""
        def wrap(fn):
            async def handler(request: Request) -> Response:
                try:
                    path = study_path(request)
                    await fn(request, path)
                    return RedirectResponse(f"/studie/{path.name}/{step}", status_code=303)
                except (Page, NarrativError) as exc:
                    status = exc.status if isinstance(exc, Page) else 409 if isinstance(exc, jobs.Busy) else 400
                    message = exc.message if isinstance(exc, Page) else str(exc)
                    try:
                        path = study_path(request)
                        ctx = await run_in_threadpool(load, path)
                    except (Page, NarrativError):
                        return render(request, "message.html", status, message=message)
                    return render(request, template, status, study=path.name, step=step,
                                  messages=[("error", message)], **ctx)
            return handler
        return wrap

    # -- data for each step -------------------------------------------------------------------
    def load_files(path: Path) -> dict:
        with Study(path, create=False) as s:
            info = s.info(review=False)
        cfg = config.load(path)
        return {"info": info, "extensions": cfg["ingest"]["extensions"], "max_mb": cfg["web"]["max_upload_mb"]}

    def load_read(path: Path) -> dict:
        with Study(path, create=False) as s:
            info = s.info(review=True)
            by = respondents_by(s.store, ("team", "form", "question"))
        return {"info": info, "by": by, "attr_sv": ATTR_SV, "kind_sv": KIND_SV}

    def load_themes(path: Path) -> dict:
        from ..grounding import load_material
        with Study(path, create=False) as s:
            if not s.store.themes():
                return {"themes": [], "segments": {}, "totals": {}}
            m = load_material(s.store, s.config)
        from .. import codebook as cb
        book = cb.load(path / cb.CODEBOOK_FILE)
        excluded = [t for t in (book.themes if book else []) if t.exclude]
        return {"themes": m.themes, "segments": m.segments, "totals": m.group_totals, "excluded": excluded,
                "respondents": m.respondents}

    def load_draft(path: Path) -> dict:
        from ..grounding import Draft, load_material
        draft_file = path / "out" / "draft.json"
        with Study(path, create=False) as s:
            has_themes = bool(s.store.themes())
            if not draft_file.exists() or not has_themes:
                return {"draft": None, "has_themes": has_themes}
            m = load_material(s.store, s.config)
        draft = Draft.from_json(draft_file.read_text(encoding="utf-8"))
        labels = {t.id: t.label for t in m.themes}
        return {"draft": draft, "segments": m.segments, "labels": labels, "has_themes": True,
                "stale": (path / "out" / "themes.json").stat().st_mtime > draft_file.stat().st_mtime
                if (path / "out" / "themes.json").exists() else False}

    def load_downloads(path: Path) -> dict:
        out = path / "out"
        return {"downloads": [(n, what, (out / n).stat().st_size) for n, what in files.DOWNLOADS.items()
                              if (out / n).exists()]}

    # -- pages --------------------------------------------------------------------------------
    async def index(request: Request) -> Response:
        names = sorted(p.name for p in studies.iterdir()
                       if (p / STORE_FILE).exists() and files.STUDY_NAME.match(p.name))
        return render(request, "index.html", studies=names, root=str(studies),
                      messages=[("error", f"{n}: {interrupted_text(j)}") for n, j in interrupted.items()])

    async def create(request: Request) -> Response:
        data = await form(request)
        try:
            path = files.study_dir(studies, str(data.get("name", "")))
        except NarrativError as exc:
            return render(request, "index.html", 400, studies=[], root=str(studies), messages=[("error", str(exc))])
        await run_in_threadpool(lambda: Study(path).close())
        return RedirectResponse(f"/studie/{path.name}/filer", status_code=303)

    async def study_home(request: Request) -> Response:
        try:
            path = study_path(request)
        except Page as exc:
            return render(request, "message.html", exc.status, message=exc.message)
        return RedirectResponse(f"/studie/{path.name}/filer", status_code=303)

    @failing("filer", "filer.html", load_files)
    async def upload(request: Request, path: Path) -> None:
        cfg = config.load(path)
        max_bytes = int(cfg["web"]["max_upload_mb"] * 1_000_000)
        length = int(request.headers.get("content-length") or 0)
        if length > 20 * max_bytes:
            raise Page(f"Uppladdningen är för stor ({length / 1e6:.0f} MB på en gång); ladda upp färre filer åt gången.", 413)
        data = await form(request)
        uploads = [f for f in data.getlist("filer") if hasattr(f, "filename") and f.filename]
        if not uploads:
            raise Page("Välj eller dra hit minst en fil.")
        lock = runner.lock(path)
        saved, problems = [], []
        try:
            folder = path / files.UPLOAD_DIR
            folder.mkdir(exist_ok=True)
            for up in uploads:
                try:
                    name = files.clean_name(up.filename)
                    content = await up.read()
                    files.check_content(name, content, cfg["ingest"]["extensions"], max_bytes,
                                        cfg["ingest"]["encodings"])
                except files.UploadError as exc:
                    problems.append(f"{exc.name}: {exc.problem} – filen lästes inte in")
                    continue
                target = folder / name
                tmp = folder / f".{name}.part"
                tmp.write_bytes(content)
                tmp.replace(target)
                saved.append(target)
        except BaseException:
            lock.release()
            raise
        if not saved:
            lock.release()
            raise Page("\n".join(problems))
        start(path, "ingest", tasks.ingest(path, saved, problems), lock=lock)

    @failing("inlast", "inlast.html", load_read)
    async def privacy(request: Request, path: Path) -> None:
        data = await form(request)
        lock = runner.lock(path)
        try:
            done = edits.privacy_word(path, str(data.get("word", "")), str(data.get("list", "")))
        except BaseException:
            lock.release()
            raise
        flash[path.name].append(("ok", done))
        start(path, "ingest", tasks.ingest(path), lock=lock)

    @failing("teman", "teman.html", load_themes)
    async def run_themes(request: Request, path: Path) -> None:
        await form(request)
        start(path, "themes", tasks.themes(path))

    @failing("teman", "teman.html", load_themes)
    async def edit_theme(request: Request, path: Path) -> None:
        data = await form(request)
        lock = runner.lock(path)
        try:
            done = edits.edit_theme(path, str(data.get("action", "")), str(data.get("theme", "")),
                                    str(data.get("value", "")), str(data.get("segment", "")))
        except BaseException:
            lock.release()
            raise
        flash[path.name].append(("ok", done + " Teman beräknas om."))
        start(path, "themes", tasks.themes(path), lock=lock)

    @failing("utkast", "utkast.html", load_draft)
    async def run_draft(request: Request, path: Path) -> None:
        await form(request)
        start(path, "draft", tasks.draft(path))

    async def download(request: Request) -> Response:
        try:
            path = study_path(request)
            target = files.download_path(path, request.path_params["file"])
        except (Page, NarrativError) as exc:
            return render(request, "message.html", 404, message=getattr(exc, "message", str(exc)))
        if not target.exists():
            return render(request, "message.html", 404, message=f"{target.name} finns inte ännu: skriv utkastet först.")
        return FileResponse(target, media_type=files.MEDIA[target.suffix], filename=target.name)

    async def job_status(request: Request) -> Response:
        try:
            path = study_path(request)
        except Page as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        job = runner.current(path)
        if job is None:
            last = jobs.last_job(path)
            return JSONResponse({"running": False, "last": last})
        return JSONResponse({"running": job.status == "running", **job.public()})

    routes = [
        Route("/", index),
        Route("/studier", create, methods=["POST"]),
        Route("/studie/{name}", study_home),
        Route("/studie/{name}/filer", step_handler("filer", "filer.html", load_files)),
        Route("/studie/{name}/filer", upload, methods=["POST"]),
        Route("/studie/{name}/inlast", step_handler("inlast", "inlast.html", load_read)),
        Route("/studie/{name}/integritet", privacy, methods=["POST"]),
        Route("/studie/{name}/teman", step_handler("teman", "teman.html", load_themes)),
        Route("/studie/{name}/teman/kor", run_themes, methods=["POST"]),
        Route("/studie/{name}/teman/andra", edit_theme, methods=["POST"]),
        Route("/studie/{name}/utkast", step_handler("utkast", "utkast.html", load_draft)),
        Route("/studie/{name}/utkast/kor", run_draft, methods=["POST"]),
        Route("/studie/{name}/ladda-ner", step_handler("ladda-ner", "ladda_ner.html", load_downloads)),
        Route("/studie/{name}/ladda-ner/{file}", download),
        Route("/studie/{name}/jobb", job_status),
        Mount("/static", StaticFiles(packages=[("pipeline.web", "static")]), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", *(hosts or [])]),
                  Middleware(security.TokenMiddleware, token=token)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.runner = runner
    app.state.studies = studies
    app.state.interrupted = dict(interrupted)
    return app


def interrupted_text(job: dict) -> str:
    label = jobs.KIND_SV.get(job.get("kind"), job.get("kind"))
    since = (job.get("started") or "")[:16].replace("T", " ")
    return (f"Förra gången avbröts '{label}' (startad {since}) innan den var klar, troligen för att "
            "servern stängdes. Det som hann sparas finns kvar; starta steget igen.")


def respondents_by(store, keys) -> dict[str, list[tuple[str, int]]]:
    """Respondents (distinct) per value of each attribute in `keys`."""
    attrs = store.attributes()
    seen: dict[str, dict[str, set]] = {k: defaultdict(set) for k in keys}
    for d in store.documents():
        a = attrs.get(d["id"], {})
        for k in keys:
            if k in a and d["respondent"]:
                seen[k][a[k]].add(d["respondent"])
    return {k: sorted(((v, len(r)) for v, r in vals.items()), key=lambda x: (-x[1], x[0]))
            for k, vals in seen.items() if vals}
