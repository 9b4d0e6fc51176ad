"""Who may use the page: whoever has the access token printed by `narrativ serve` (as Jupyter
does). The token arrives once in the address (?token=…), is then kept in a cookie
(HttpOnly, SameSite=Strict: other sites cannot send it), and every form carries a CSRF field
derived from it; a POST whose Origin is another site is refused before anything is read."""
from __future__ import annotations

import hashlib
import html
import hmac
import secrets
from pathlib import Path
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse


COOKIE = "narrativ_token"
SAFE = ("GET", "HEAD", "OPTIONS")

REFUSED = """<!doctype html><html lang="sv"><meta charset="utf-8"><title>narrativ</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>Åtkomst nekad</h1>
<p>{}</p></body></html>"""


TOKEN_FILE = ".narrativ-serve.toml"     # in the studies folder, owner-only (0600)
COOKIE_DAYS = 30


def new_token() -> str:
    return secrets.token_urlsafe(24)


def saved_token(studies: Path, renew: bool = False) -> tuple[str, str | None]:
    """The page's access token, kept in the studies folder's settings (TOKEN_FILE, readable by
    its owner only) so that a restart keeps the links, bookmarks and open pages of the same
    user on the same machine working. A new token when asked (`renew`), when there is none, or
    when the file is not the user's own or others could read it. Returns (token, a Swedish note
    for the terminal or None)."""
    import os
    import stat
    import tomllib
    path = Path(studies) / TOKEN_FILE
    note = None
    if not renew:
        try:
            st = path.lstat()
        except FileNotFoundError:
            st = None
        if st is not None:
            if not hasattr(os, "getuid"):        # Windows: no owner id nor group/other bits; the file
                foreign = not stat.S_ISREG(st.st_mode)   # is in the user's profile, which its ACL guards
            else:
                foreign = not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077
            if foreign:
                note = (f"Obs! {path} kunde läsas av andra eller tillhör någon annan; en ny åtkomstkod skapades "
                        "och gamla länkar slutar fungera.")
            else:
                try:
                    token = str(tomllib.loads(path.read_text(encoding="utf-8")).get("token", ""))
                except (OSError, ValueError):
                    token = ""
                if len(token) >= 24 and token.replace("-", "").replace("_", "").isalnum():
                    return token, None
    token = new_token()
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# narrativ serve: the page's access code (only you may read this file).\n"
                 "# Delete the file, or start with --new-token, for a new code; old links then stop working.\n"
                 f'token = "{token}"\n')
    os.replace(tmp, path)
    return token, note


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"narrativ-csrf", hashlib.sha256).hexdigest()[:32]


def check_csrf(form, token: str) -> None:
    if not hmac.compare_digest(str(form.get("csrf", "")), csrf_token(token)):
        raise CSRFError()


class CSRFError(Exception):
    def __init__(self):
        super().__init__("Formuläret saknar giltig säkerhetskod; ladda om sidan och försök igen.")


class HostMiddleware:
    """Only requests addressed to this machine's names (DNS rebinding: another site's name
    pointing here is refused), with a Swedish page instead of Starlette's "Invalid host header"."""

    def __init__(self, app, allowed_hosts: list[str]):
        self.app = app
        self.any = "*" in allowed_hosts
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope.get("headers") or []:
            if key == b"host":
                host = value.decode("latin-1")
                break
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.lower() in self.allowed:
            await self.app(scope, receive, send)
            return
        response = HTMLResponse(REFUSED.format(
            f"Sidan nåddes via adressen '{html.escape(name[:80])}', som inte är den här datorn. Öppna den med länken som "
            "skrevs ut när <code>narrativ serve</code> startade (den börjar med http://127.0.0.1)."), status_code=400)
        await response(scope, receive, send)


class TokenMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, token: str):
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next):
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, self.token):
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), status_code=303)
            # kept for a while (the token is kept across restarts too): bookmarks keep working
            response.set_cookie(COOKIE, self.token, max_age=COOKIE_DAYS * 86400, httponly=True,
                                samesite="strict", path="/")
            return response
        if not hmac.compare_digest(request.cookies.get(COOKIE, ""), self.token):
            return HTMLResponse(REFUSED.format(
                "Öppna sidan med länken som skrevs ut när <code>narrativ serve</code> startade "
                "(den innehåller en åtkomstkod)."), status_code=403)
        if request.method not in SAFE:
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
                return HTMLResponse(REFUSED.format("Förfrågan kom från en annan webbplats och avvisades."),
                                    status_code=403)
        try:
            return await call_next(request)
        except CSRFError as exc:
            return HTMLResponse(REFUSED.format(str(exc)), status_code=403)
