"""The ASGI application: pages, JSON API, security headers and the error boundary.

``create_app(config)`` builds everything from a :class:`WebConfig`; ``b12 serve`` runs it under
uvicorn.  Every error leaves as the canonical error body (JSON endpoints) or a readable page.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b12.adapters.sql.accounts import TooManyAttempts
from b12.adapters.sql.transactions import RegistryUnavailable
from b12.core.errors import Conflict, FieldProblem, InputError, NotFound, Refused
from b12.entrypoints.web import (
    api,
    api_ask,
    api_kb,
    api_register,
    api_registry,
    cds_hooks,
    fhir_api,
    form_text,
    openapi,
    pages,
    pages_ask,
    pages_kb,
    pages_patient_docs,
    pages_register,
    pages_registry,
)
from b12.entrypoints.web.cds_auth import install_cors
from b12.entrypoints.web.errors import (
    ErrorJSONResponse,
    HttpProblem,
    LoginRequired,
    error_response,
    input_error_response,
)
from b12.entrypoints.web.services import Services, WebConfig
from b12.entrypoints.web.templating import render

log = logging.getLogger("b12.web")

#: Content Security Policy: nothing from elsewhere, no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
JSON_PREFIXES = ("/api/", "/cds-services", "/fhir/")


def wants_json(request: Request) -> bool:
    """JSON endpoints answer errors in JSON; pages answer with a page, unless the client asks
    for JSON only (``Accept: application/json`` without ``text/html``)."""
    if request.url.path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _route_template(request: Request) -> str:
    return _route_template_of(request.scope)


def _route_template_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"


def create_app(config: WebConfig) -> FastAPI:
    """Build the app; the database is migrated to the newest schema first."""
    app = FastAPI(
        title="b12",
        version="1",
        summary="Clinical decision support for vitamin B12 deficiency treatment",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = Services(config)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(pages_registry.router)
    app.include_router(pages_patient_docs.router)
    app.include_router(api_registry.router)
    app.include_router(pages_kb.router)
    app.include_router(api_kb.router)
    app.include_router(pages_ask.router)
    app.include_router(api_ask.router)
    app.include_router(fhir_api.router)
    app.include_router(cds_hooks.router)
    app.include_router(api_register.router)
    app.include_router(pages_register.router)
    _install_middleware(app, secure=config.secure_cookies)
    install_cors(app, config.cds_allowed_origins)
    _install_handlers(app)
    openapi.install(app)
    return app


def _install_middleware(app: FastAPI, *, secure: bool) -> None:
    app.add_middleware(HeadersAndLog, secure=secure)


class HeadersAndLog:
    """The security headers, ``Cache-Control: no-store`` (not on ``/static/``), HSTS behind
    TLS, the error boundary and one log line per request: a plain ASGI middleware.

    Headers already set by the route win (``setdefault``).  An exception from the app before
    the response has started becomes :func:`internal_error` (logged without data); after it
    has started, the response cannot be replaced: the exception type and route are logged and
    the connection is left for the server to close (no traceback is logged: it can quote
    patient data).  The log line has the method, the route's template (never the concrete
    path, query or body), the status and the time spent in the app.
    """

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        common = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()
        ]
        if secure:
            common.append((b"strict-transport-security", b"max-age=31536000"))
        self.static_headers = tuple(common)
        self.page_headers = (*common, (b"cache-control", b"no-store"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        extra = self.static_headers if path.startswith("/static/") else self.page_headers
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # the error boundary: logged without data
            request = Request(scope, receive)
            if status:
                log.error("internal error %s on %s", type(exc).__name__, _route_template(request))
            else:
                response = internal_error(request, exc)
                await response(scope, receive, send_with_headers)
        # Only the route's template is logged (never the concrete path, query or body), so no
        # patient identifier or clinical value reaches the log.
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                _route_template_of(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )


def _problem_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def internal_error(request: Request, exc: BaseException) -> Response:
    """HTTP 500 in the type the client asked for; the log line has the exception type and the
    route template only (a message or a traceback can quote patient data)."""
    log.error("internal error %s on %s", type(exc).__name__, _route_template(request))
    if wants_json(request):
        return error_response(500, "internal", "internal error; it has been logged")
    try:
        return _problem_page(
            request, 500, "internal error", "Something went wrong; it has been logged."
        )
    except Exception:
        return HTMLResponse("<!doctype html><title>internal error</title><p>Internal error.", 500)


def _install_handlers(app: FastAPI) -> None:  # noqa: C901 - one small handler per error type
    @app.exception_handler(HttpProblem)
    async def http_problem(request: Request, exc: HttpProblem) -> Response:
        if wants_json(request):
            return error_response(exc.status, exc.code, exc.message, headers=exc.headers)
        return _problem_page(request, exc.status, exc.code.replace("_", " "), exc.message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        if wants_json(request):
            return input_error_response(exc)
        svc: Services = request.app.state.services
        message = form_text.page_message(exc.problems, svc.kb(), svc.today())
        return _problem_page(request, 422, "invalid input", message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append(FieldProblem(".".join(loc) or "input", str(err.get("msg", "invalid"))))
        return await input_error(
            request, InputError(problems or [FieldProblem("input", "invalid")])
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        if wants_json(request):
            return error_response(404, "not_found", str(exc))
        return _problem_page(request, 404, "not found", str(exc))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if wants_json(request):
            detail = exc.detail
            dump = getattr(detail, "model_dump", None)
            body = {
                "error": {"code": "refused", "message": str(exc), "fields": []},
                "check": dump(mode="json") if callable(dump) else detail,
            }
            return ErrorJSONResponse(body, status_code=409)
        return _problem_page(request, 409, "refused", str(exc))

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, exc: TooManyAttempts) -> Response:
        headers = {"Retry-After": str(exc.retry_after_seconds)}
        if wants_json(request):
            return error_response(429, "too_many_attempts", str(exc), headers=headers)
        minutes = max(1, round(exc.retry_after_seconds / 60))
        message = f"Too many failed sign-ins. Try again in about {minutes} minute(s)."
        response = _problem_page(request, 429, "too many attempts", message)
        response.headers.update(headers)
        return response

    @app.exception_handler(RegistryUnavailable)
    async def unavailable(request: Request, exc: RegistryUnavailable) -> Response:
        log.error("database unavailable: %s", type(exc.__cause__).__name__)
        if wants_json(request):
            return error_response(503, "unavailable", "the database is unavailable; try again")
        return _problem_page(request, 503, "unavailable", "The database is unavailable.")

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if wants_json(request) or exc.status_code == 405:
            return error_response(exc.status_code, code, str(exc.detail))
        return _problem_page(request, exc.status_code, code.replace("_", " "), str(exc.detail))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        if wants_json(request):
            body = {
                "error": {
                    "code": "conflict",
                    "message": str(exc),
                    "fields": [{"field": "idempotency_key", "message": str(exc)}],
                },
                "recorded": exc.recorded,
                "submitted": exc.submitted,
            }
            return ErrorJSONResponse(body, status_code=409)
        return _problem_page(request, 409, "conflict", str(exc))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        response = internal_error(request, exc)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
