"""Who may use the page: whoever has the access token printed by `narrativ serve` (as Jupyter
does). The token arrives once in the address (?token=…), is then kept in a cookie
(HttpOnly, SameSite=Strict: other sites cannot send it), and every form carries a CSRF field
derived from it; a POST whose Origin is another site is refused before anything is read."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse


COOKIE = "narrativ_token"
SAFE = ("GET", "HEAD", "OPTIONS")

REFUSED = """<!doctype html><html lang="sv"><meta charset="utf-8"><title>narrativ</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>Åtkomst nekad</h1>
<p>{}</p></body></html>"""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"narrativ-csrf", hashlib.sha256).hexdigest()[:32]


def check_csrf(form, token: str) -> None:
    if not hmac.compare_digest(str(form.get("csrf", "")), csrf_token(token)):
        raise CSRFError()


class CSRFError(Exception):
    def __init__(self):
        super().__init__("Formuläret saknar giltig säkerhetskod; ladda om sidan och försök igen.")


class TokenMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, token: str):
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next):
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, self.token):
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
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
