"""The local web page for the kansli (`narrativ serve`): Starlette + Jinja2, server-rendered
pages, plain HTML forms and a few lines of JavaScript (drag and drop, progress polling).

Five steps per study, each a page: files in, what was read (with the pseudonymisation review
list), themes (edit them), the draft, downloads. Everything goes through the Study API, so the
page, the CLI and the notebooks agree. Security (pipeline.web.security): a random access token,
a SameSite=Strict cookie, a CSRF field on every form, an Origin check and a Host check.

The routes are module-level handlers reading what the app holds from `request.app.state`
(studies folder, token, templates, job runner, one-time messages, interrupted jobs), as in
Starlette's own examples; `create_app` only puts these together. A button that changes the
study takes the study (`_edit_then_job`: the page's job lock, which is the study's write lock
the CLI and the notebooks take too) and hands it to the job that follows.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
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
    interrupted = {}
    for d in sorted(p for p in studies.iterdir() if (p / STORE_FILE).exists()):
        job = jobs.interrupted(d)
        if job:
            interrupted[d.name] = job
    middleware = [Middleware(security.HostMiddleware, allowed_hosts=["127.0.0.1", "localhost", *(hosts or [])]),
                  Middleware(security.TokenMiddleware, token=token)]
    app = Starlette(routes=ROUTES, middleware=middleware)
    app.state.studies = studies
    app.state.token = token
    app.state.env = Environment(loader=PackageLoader("pipeline.web", "templates"), autoescape=select_autoescape())
    app.state.runner = jobs.JobRunner()
    app.state.flash = defaultdict(list)             # study -> one-time messages after a redirect
    app.state.interrupted = interrupted             # study -> a job cut off last time (said once)
    return app


# -- helpers ----------------------------------------------------------------------------------
def study_path(request: Request) -> Path:
    try:
        path = files.study_dir(request.app.state.studies, request.path_params["name"])
    except NarrativError as exc:
        raise Page(str(exc), 404) from None
    if not (path / STORE_FILE).exists():
        raise Page(f"Studien '{path.name}' finns inte. Skapa den på startsidan.", 404)
    return path


_NOW = object()


def render(request: Request, template: str, status: int = 200, running=_NOW, **ctx) -> HTMLResponse:
    """`running`: the study's job as it was when the page's data were read (default: now). A
    page whose data were read while a job ran shows that job, and reloads when it ends — not
    "klar" above data from before the job."""
    state = request.app.state
    name = ctx.get("study")
    ctx.setdefault("messages", [])
    if name:
        ctx["messages"] = state.flash.pop(name, []) + ctx["messages"]
        path = state.studies / name
        running = state.runner.running(path) if running is _NOW else running
        ctx["job"] = running.public() if running else None
        ctx["last_job"] = None if running else jobs.last_job(path)
        ctx["steps"] = STEPS
    html = state.env.get_template(template).render(csrf=security.csrf_token(state.token), request=request, **ctx)
    return HTMLResponse(html, status_code=status)


def refusal(exc: Exception) -> tuple[int, str]:
    """The HTTP status and the Swedish message of a Page or NarrativError."""
    if isinstance(exc, Page):
        return exc.status, exc.message
    return (409 if isinstance(exc, jobs.Busy) else 400), str(exc)


def message_page(request: Request, exc: Exception) -> HTMLResponse:
    status, message = refusal(exc)
    return render(request, "message.html", status, message=message)


async def form(request: Request):
    data = await request.form(max_files=200, max_fields=50)
    security.check_csrf(data, request.app.state.token)
    return data


def flash(request: Request, path: Path, text: str) -> None:
    request.app.state.flash[path.name].append(("ok", text))


def start(request: Request, path: Path, kind: str, work, lock=None) -> None:
    request.app.state.runner.start(path, kind, work, lock=lock)


async def _edit_then_job(request: Request, path: Path, kind: str, edit, work):
    """Take the study (or raise Busy), run `edit()` (sync or async; it may raise Page to refuse),
    then start `work(edit's result)` as the job of `kind`, which holds the study until it ends.
    If anything before the job's start fails, the study is released here — the one place."""
    lock = request.app.state.runner.lock(path, kind)
    try:
        result = edit()
        if hasattr(result, "__await__"):
            result = await result
        start(request, path, kind, work(result), lock=lock)
    except BaseException:
        lock.release()
        raise
    return result


# -- data for each step -----------------------------------------------------------------------
def load_files(path: Path) -> dict:
    with Study(path, create=False) as s:
        info = s.info(review=False)
    cfg = config.load(path)
    return {"info": info, "extensions": cfg["ingest"]["extensions"], "max_mb": cfg["web"]["max_upload_mb"]}


def load_read(path: Path, offset: int = 0) -> dict:
    from ..counts import base_by_group
    with Study(path, create=False) as s:
        info = s.info(review=True)
        base, by = base_by_group(s.store, s.config, ("team", "form", "question")) if info["segments"] else (0, {})
    review = info.get("privacy") or {}
    common = [k for k in review.get("kept_unknown", []) if edits.likely_not_a_name(k["word"])]
    listed = [k for k in review.get("kept_unknown", []) if not edits.likely_not_a_name(k["word"])]
    review["kept_unknown"] = review_page(listed, offset)
    keep = set(config.load(path)["privacy"].get("keep") or [])     # words a person marked "Inte ett namn"
    review["marked_keep"] = [k for k in review.get("kept_known", []) if k["word"] in keep]
    review["kept_known"] = [k for k in review.get("kept_known", []) if k["word"] not in keep]
    return {"info": info, "by": by, "base": base, "attr_sv": ATTR_SV, "kind_sv": KIND_SV, "common_words": common}


def load_themes(path: Path) -> dict:
    from .. import codebook as cb
    from .. import counts
    from ..grounding import load_material
    from ..overview import PAGE_HINT, coverage_lines
    with Study(path, create=False) as s:
        if not s.store.themes():
            return {"themes": [], "segments": {}, "counts": None}
        m = load_material(s.store, s.config)
        c = counts.of_material(m, s.store)
    book = cb.load(path / cb.CODEBOOK_FILE)
    excluded = [t for t in (book.themes if book else []) if t.exclude]
    return {"themes": m.themes, "segments": m.segments, "counts": c, "excluded": excluded,
            "respondents": m.respondents, "coverage": [x.strip() for x in coverage_lines(m.coverage, PAGE_HINT)]}


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
    return {"draft": draft, "segments": m.segments, "labels": labels, "has_themes": True}


def load_downloads(path: Path) -> dict:
    out = path / "out"
    return {"downloads": [(n, what, (out / n).stat().st_size) for n, what in files.DOWNLOADS.items()
                          if (out / n).exists()]}


STEP_PAGES = {"filer": ("filer.html", load_files), "inlast": ("inlast.html", load_read),
              "teman": ("teman.html", load_themes), "utkast": ("utkast.html", load_draft),
              "ladda-ner": ("ladda_ner.html", load_downloads)}


def load_step(step: str, path: Path, **query) -> dict:
    """A step page's data plus what is out of date (Study.freshness) and the edit Ångra undoes."""
    ctx = STEP_PAGES[step][1](path, **query)
    with Study(path, create=False) as s:
        ctx["fresh"] = s.freshness()
    ctx["undo"] = edits.last_undo(path)
    return ctx


# -- pages ------------------------------------------------------------------------------------
async def show_step(request: Request, step: str) -> Response:
    try:
        path = study_path(request)
        running = request.app.state.runner.running(path)        # before the data are read
        ctx = await run_in_threadpool(load_step, step, path, **page_query(request, step))
    except (Page, NarrativError) as exc:
        return message_page(request, exc)
    note = request.app.state.interrupted.pop(path.name, None)
    messages = [("error", interrupted_text(note))] if note else []
    return render(request, STEP_PAGES[step][0], running=running, study=path.name, step=step, messages=messages, **ctx)


def posted(step: str):
    """A POST handler `fn(request, path) -> where`: redirect to the study's page `where` (default
    `step`); on a refusal show the step's page with the message (or a message page)."""
    def wrap(fn):
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            try:
                path = study_path(request)
                where = await fn(request, path)
                return RedirectResponse(f"/studie/{path.name}/{where or step}", status_code=303)
            except (Page, NarrativError) as exc:
                status, message = refusal(exc)
                try:
                    path = study_path(request)
                    ctx = await run_in_threadpool(load_step, step, path, **page_query(request, step))
                except (Page, NarrativError):
                    return render(request, "message.html", status, message=message)
                return render(request, STEP_PAGES[step][0], status, study=path.name, step=step,
                              messages=[("error", message)], **ctx)
        return handler
    return wrap


async def index(request: Request) -> Response:
    studies = request.app.state.studies
    names = sorted(p.name for p in studies.iterdir()
                   if (p / STORE_FILE).exists() and files.valid_study_name(p.name))
    return render(request, "index.html", studies=names, root=str(studies),
                  messages=[("error", f"{n}: {interrupted_text(j)}") for n, j in request.app.state.interrupted.items()])


async def create(request: Request) -> Response:
    data = await form(request)
    studies = request.app.state.studies
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
        return message_page(request, exc)
    return RedirectResponse(f"/studie/{path.name}/filer", status_code=303)


@posted("filer")
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

    async def save() -> tuple[list[Path], list[str]]:
        saved, problems = [], []
        folder = path / files.UPLOAD_DIR
        folder.mkdir(exist_ok=True)
        for up in uploads:
            try:
                name = files.clean_name(up.filename)
                content = await up.read()
                files.check_content(name, content, cfg["ingest"]["extensions"], max_bytes, cfg["ingest"]["encodings"])
            except files.UploadError as exc:
                problems.append(f"{exc.name}: {exc.problem} – filen lästes inte in")
                continue
            try:
                target = files.upload_target(folder, name, saved)
            except files.UploadError as exc:
                problems.append(f"{exc.name}: {exc.problem} – filen lästes inte in")
                continue
            tmp = folder / f".{target.name}.part"
            tmp.write_bytes(content)
            tmp.replace(target)
            saved.append(target)
        if not saved:
            raise Page("\n".join(problems))
        return saved, problems

    await _edit_then_job(request, path, "ingest", save, lambda r: tasks.ingest(path, *r))


@posted("inlast")
async def privacy(request: Request, path: Path) -> str:
    data = await form(request)
    word = str(data.get("word", ""))

    def mark() -> str:
        before = edits.snapshot_privacy(path, word)
        done = edits.privacy_word(path, word, str(data.get("list", "")))
        edits.save_undo(path, before, done.split(";")[0])
        return done

    done = await _edit_then_job(request, path, "ingest", mark, lambda _: tasks.ingest(path))
    flash(request, path, done)
    offset = _offset(data.get("fran"))
    return f"inlast?fran={offset}#kvar" if offset else "inlast#kvar"


@posted("teman")
async def run_themes(request: Request, path: Path) -> None:
    await form(request)
    start(request, path, "themes", tasks.themes(path))


@posted("teman")
async def edit_theme(request: Request, path: Path) -> str:
    data = await form(request)
    action, theme = str(data.get("action", "")), str(data.get("theme", ""))
    value = str(data.get("value", ""))
    if action in ("move", "merge"):
        value = edits.theme_by_name(path, str(data.get("target", "") or value), action)

    async def change() -> str:
        before = await run_in_threadpool(edits.snapshot_themes, path)
        done = edits.edit_theme(path, action, theme, value, str(data.get("segment", "")))
        edits.save_undo(path, before, done)
        return done

    done = await _edit_then_job(request, path, "themes", change, lambda _: tasks.themes(path))
    flash(request, path, done + " Teman beräknas om.")
    # back where the person was: the theme's own page (it stays), else the overview at its row
    back = str(data.get("back", ""))
    anchor = back if re.fullmatch(r"#[\w-]{1,40}", back) else ""
    if action in ("rename", "pin", "move"):
        return f"teman/{theme}{anchor}"
    return f"teman#theme-{theme}" if action == "include" else "teman"


async def theme_page(request: Request) -> Response:
    """One theme with its quotes and tools (the overview lists them all)."""
    theme_id = request.path_params["theme"]
    try:
        path = study_path(request)
        running = request.app.state.runner.running(path)        # before the data are read
        ctx = await run_in_threadpool(load_step, "teman", path)
    except (Page, NarrativError) as exc:
        return message_page(request, exc)
    t = next((x for x in ctx["themes"] if x.id == theme_id), None)
    if t is None:          # merged, split or removed meanwhile: the overview says what there is
        return RedirectResponse(f"/studie/{path.name}/teman", status_code=303)
    return render(request, "tema.html", running=running, study=path.name, step="teman", t=t, **ctx)


async def undo(request: Request) -> Response:
    """Ångra: the latest edit on the page put back, then themes computed (or files read) again."""
    data = await form(request)
    back = "inlast" if str(data.get("from", "")) == "inlast" else "teman"
    theme = str(data.get("theme", ""))
    if back == "teman" and re.fullmatch(r"[\w-]{1,40}", theme):
        back = f"teman/{theme}"          # undone on a theme's page: back to it (gone: the overview)
    try:
        path = study_path(request)
        kind = (edits.last_undo(path) or {}).get("kind")
        job = "ingest" if kind == "privacy" else "themes"
        kind, done = await _edit_then_job(
            request, path, job, lambda: edits.undo(path),
            lambda r: tasks.ingest(path) if r[0] == "privacy" else tasks.themes(path))
    except (Page, NarrativError) as exc:
        return message_page(request, exc)
    flash(request, path, done + (" Filerna läses in igen." if kind == "privacy" else " Teman beräknas om."))
    return RedirectResponse(f"/studie/{path.name}/{'inlast' if kind == 'privacy' else back}", status_code=303)


@posted("utkast")
async def run_draft(request: Request, path: Path) -> None:
    await form(request)
    start(request, path, "draft", tasks.draft(path))


async def download(request: Request) -> Response:
    try:
        path = study_path(request)
        target = files.download_path(path, request.path_params["file"])
    except (Page, NarrativError) as exc:
        return render(request, "message.html", 404, message=refusal(exc)[1])
    if not target.exists():
        return render(request, "message.html", 404, message=f"{target.name} finns inte ännu: skriv utkastet först.")
    return FileResponse(target, media_type=files.MEDIA[target.suffix], filename=target.name)


async def job_status(request: Request) -> Response:
    try:
        path = study_path(request)
    except Page as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    job = request.app.state.runner.current(path)
    if job is None:
        return JSONResponse({"running": False, "last": jobs.last_job(path)})
    return JSONResponse({"running": job.status == "running", **job.public()})


def _step(step: str) -> Route:
    return Route(f"/studie/{{name}}/{step}", functools.partial(show_step, step=step))


ROUTES = [
    Route("/", index),
    Route("/studier", create, methods=["POST"]),
    Route("/studie/{name}", study_home),
    _step("filer"),
    Route("/studie/{name}/filer", upload, methods=["POST"]),
    _step("inlast"),
    Route("/studie/{name}/integritet", privacy, methods=["POST"]),
    _step("teman"),
    Route("/studie/{name}/teman/kor", run_themes, methods=["POST"]),
    Route("/studie/{name}/teman/andra", edit_theme, methods=["POST"]),
    Route("/studie/{name}/teman/{theme}", theme_page),
    Route("/studie/{name}/angra", undo, methods=["POST"]),
    _step("utkast"),
    Route("/studie/{name}/utkast/kor", run_draft, methods=["POST"]),
    _step("ladda-ner"),
    Route("/studie/{name}/ladda-ner/{file}", download),
    Route("/studie/{name}/jobb", job_status),
    Mount("/static", StaticFiles(packages=[("pipeline.web", "static")]), name="static"),
]


REVIEW_PAGE = 30       # words per page of the pseudonymisation review list


def _offset(value) -> int:
    try:
        return max(0, int(str(value or "0")))
    except ValueError:
        return 0


def page_query(request: Request, step: str) -> dict:
    """What of the address a step's page uses: the review list's place (?fran=N) on step 2."""
    return {"offset": _offset(request.query_params.get("fran"))} if step == "inlast" else {}


def review_page(rows: list[dict], offset: int, limit: int = REVIEW_PAGE) -> dict:
    """One page of the review list, most likely names first: {"total", "offset", "items",
    "pages"} — the shape of pipeline.overview.review_page, over the list the page shows (the
    likely non-names already left out, so every page is full and the total is what is listed).
    An offset past the end shows the last page (after marks the list gets shorter)."""
    total = len(rows)
    if offset >= total:
        offset = max(0, (total - 1) // limit * limit)
    offset -= offset % limit
    pages = [(i // limit + 1, i) for i in range(0, total, limit)]
    return {"total": total, "offset": offset, "limit": limit, "items": rows[offset:offset + limit],
            "pages": pages if len(pages) > 1 else []}


def interrupted_text(job: dict) -> str:
    label = jobs.KIND_SV.get(job.get("kind"), job.get("kind"))
    since = (job.get("started") or "")[:16].replace("T", " ")
    return (f"Förra gången avbröts '{label}' (startad {since}) innan den var klar, troligen för att "
            "servern stängdes. Det som hann sparas finns kvar; starta steget igen.")
