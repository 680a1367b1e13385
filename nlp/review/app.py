"""The review web app: a JSON API over the store, and the static pages that use it.

Safety is in one middleware, so no route can forget it: the access token (required by the
command line on any non-loopback address), a double-submit cookie against cross-site
request forgery on every write, a Host check against DNS rebinding on loopback, and a
content security policy that allows no inline script (article text is only ever set as
text by the pages, and even markup that slipped through could not run).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from nlp import __version__
from nlp.review.agreement import agreement
from nlp.review.records import DocumentStatus, ReviewClaim
from nlp.review.store import Conflict, NotFound, ReviewError, Store

STATIC = Path(__file__).with_name("static")
CSRF_COOKIE, CSRF_HEADER = "claims_csrf", "x-csrf-token"
TOKEN_COOKIE, TOKEN_HEADER = "claims_token", "x-claims-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
Langs = Annotated[str | None, Query(pattern="^(en|ar|tr|fa|und)$")]
Statuses = Annotated[str | None, Query(pattern="^(new|in_progress|done)$")]


class SaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1)
    claims: list[ReviewClaim] = Field(max_length=1000)
    status: DocumentStatus = "in_progress"


def annotator(x_annotator: Annotated[str | None, Header()] = None) -> str:
    """The annotator's name (URL-encoded by the page, since names need not be ASCII)."""
    name = unquote(x_annotator or "").strip()
    if not name:
        raise HTTPException(422, "say who you are: the annotator's name (header "
                                 "X-Annotator) is required to save")
    if len(name) > 64 or any(not ch.isprintable() for ch in name):
        raise HTTPException(422, "an annotator name is 1 to 64 printable characters")
    return name


Annotator = Annotated[str, Depends(annotator)]


def create_app(store: Store, token: str | None = None,
               allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """`token`: required on every request when set; `allowed_hosts`: Host names served
    (None: any), which the command line sets to loopback names when it binds loopback."""
    app = FastAPI(title="claims review", version=__version__, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        refusal = _refusal(request, token, allowed_hosts)
        response = refusal or await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if refusal is None and request.method in SAFE_METHODS:
            _set_cookies(request, response, token)
        return response

    @app.exception_handler(ReviewError)
    async def review_error(_request: Request, exc: ReviewError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
        return JSONResponse({"detail": str(exc)}, status_code=status)

    for path, page in (("/", "queue.html"), ("/agreement", "agreement.html")):
        app.add_api_route(path, _page(page), methods=["GET"], include_in_schema=False)
    app.add_api_route("/documents/{doc_id:path}", _page("document.html"), methods=["GET"],
                      include_in_schema=False)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/me")
    def me() -> dict[str, Any]:
        return {"csrf": True, "token_required": token is not None, "version": __version__}

    @app.get("/api/documents")
    def documents(lang: Langs = None, status: Statuses = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
        total, rows = store.list_documents(lang, status, limit, offset)
        return {"total": total, "documents": rows}

    @app.get("/api/next")
    def next_document(lang: Langs = None) -> dict[str, str]:
        found = store.next_document(lang)
        if found is None:
            raise NotFound("no document left to review")
        return {"id": found}

    @app.get("/api/agreement")
    def agreement_page() -> dict[str, Any]:
        return agreement(store)

    @app.get("/api/documents/{doc_id:path}/history")
    def history(doc_id: str) -> dict[str, Any]:
        return {"changes": store.history(doc_id)}

    @app.get("/api/documents/{doc_id:path}")
    def document(doc_id: str) -> dict[str, Any]:
        return store.get(doc_id)

    @app.put("/api/documents/{doc_id:path}")
    def save(doc_id: str, body: SaveRequest, who: Annotator) -> dict[str, Any]:
        return store.save(doc_id, body.version, body.claims, who, body.status)

    return app


def _page(name: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        path = STATIC / name
        if not path.is_file():
            raise NotFound(f"page {name} is missing from the installation")
        return FileResponse(path, media_type="text/html; charset=utf-8")
    return page


def _refusal(request: Request, token: str | None,
             allowed_hosts: tuple[str, ...] | None) -> Response | None:
    """Why this request is refused (a response), or None to serve it."""
    if allowed_hosts is not None:
        host = (request.url.hostname or "").lower()
        if host not in allowed_hosts:
            return JSONResponse({"detail": f"host {host!r} is not served here"}, 400)
    bearer = _bearer(request)
    if token is not None:
        given = (bearer or request.headers.get(TOKEN_HEADER)
                 or request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token"))
        if not given or not secrets.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"detail": "a valid access token is required: open the "
                                 "address with ?token=… or send 'Authorization: Bearer …'"},
                                401, headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and bearer is None:
        # A browser sends cookies with a forged cross-site request, but cannot read ours
        # to echo it in a header; programs that authenticate with a bearer token are exempt.
        cookie = request.cookies.get(CSRF_COOKIE, "")
        header = request.headers.get(CSRF_HEADER, "")
        if not cookie or not secrets.compare_digest(cookie.encode(), header.encode()):
            return JSONResponse({"detail": "missing or wrong X-CSRF-Token header: reload "
                                 "the page and try again"}, 403)
    return None


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _set_cookies(request: Request, response: Response, token: str | None) -> None:
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), samesite="strict",
                            httponly=False, path="/")
    given = request.query_params.get("token")
    if token is not None and given and request.cookies.get(TOKEN_COOKIE) != token:
        response.set_cookie(TOKEN_COOKIE, token, samesite="strict", httponly=True, path="/")
