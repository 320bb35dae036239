"""How the inbox answers: Jinja2 pages (autoescaped: a customer's `<script>` is text), the
security headers on every response, and refusals as readable pages instead of the JSON API's
error bodies — the engine's reason in words, never a stack trace or a bare status code.

`InboxRoute` is the route class of every inbox route: whatever a route raises (an ApiError
from the engine or a check, no session, bad input, a bug) becomes a page with the right
status, and every answer gets the headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.errors import ApiError
from api.inbox.forms import Invalid
from api.inbox.sessions import NotSignedIn
from api.inbox.texts import Texts, preferred_locale
from leads.config import Config
from leads.models import Locale

log = structlog.get_logger("api.inbox")

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FRAGMENT_HEADER = "x-inbox-fragment"  # inbox.js asks for the task list's fragment with it

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Sign-in tokens and lead ids stay out of other sites' logs.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt name fails the tests instead of rendering blank
    trim_blocks=True,
    lstrip_blocks=True,
)


def protect(response: Response, cacheable: bool = False) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not cacheable:
        # Pages show customers' messages: not kept by the browser or a shared proxy.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def locale_of(request: Request) -> Locale:
    """The signed-in dealer's locale; before sign-in the one all dealers share, else the
    browser's preference."""
    known: Locale | None = getattr(request.state, "inbox_locale", None)
    if known is not None:
        return known
    config: Config = request.app.state.config
    locales = {dealer.locale for dealer in config.dealers}
    if len(locales) == 1:
        return locales.pop()
    return preferred_locale(request.headers.get("accept-language"), "en")


def texts(request: Request) -> Texts:
    return Texts(locale_of(request))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("session", None)
    context.setdefault("csrf", "")
    context.setdefault("refusal", None)
    html = environment.get_template(template).render(t=texts(request), **context)
    response = HTMLResponse(html, status_code=status)
    protect(response)
    return response


def see_other(url: str) -> RedirectResponse:
    """After a POST: the browser GETs the page again (a reload never repeats the action)."""
    response = RedirectResponse(url, status_code=303)
    protect(response)
    return response


# What a salesperson reads for each of the API's error codes; `refused` and `not_ready` carry
# the engine's own reason, which the page shows as it is.
_CODES = {
    "csrf": "error.csrf",
    "unknown_lead": "error.unknown_lead",
    "unknown_task": "error.unknown_task",
    "not_found": "error.not_found",
    "too_large": "error.too_large",
    "throttled": "error.busy",
    "temporal_timeout": "error.unavailable",
    "temporal_unavailable": "error.unavailable",
    "temporal_error": "error.unavailable",
    "results_unavailable": "error.unavailable",
    "internal": "error.internal",
}


def describe(error: ApiError, t: Texts) -> str:
    if isinstance(error, Invalid):
        return t("error.invalid", detail=t(error.what))
    if error.code in ("refused", "not_ready"):
        return error.message
    if error.code == "forbidden":
        return t("error.manager_only" if "manager" in error.message else "error.forbidden")
    if error.code in ("bad_form", "invalid_form", "invalid_request"):
        return t("error.invalid", detail=t("invalid.choice"))
    return t(_CODES.get(error.code, "error.internal"))


def error_page(request: Request, error: ApiError) -> HTMLResponse:
    t = texts(request)
    title = t("refused.title") if error.code in ("refused", "not_ready") else t("error.title")
    return page(request, "error.html", status=error.status, title=title, message=describe(error, t))


# Where an alert's link pointed before sign-in: only a task's or a lead's page (ids, no customer
# data), so the cookie can never send anyone elsewhere.
RETURN_COOKIE = "blanco_return"
RETURN_PAGE = re.compile(r"/inbox/(tasks|leads)/[a-z0-9-]{1,160}")


def not_signed_in(request: Request) -> Response:
    # A page is sent to the sign-in form; a form post or the live list is told why.
    if request.method == "GET" and FRAGMENT_HEADER not in request.headers:
        response = see_other("/inbox/sign-in")
        if RETURN_PAGE.fullmatch(request.url.path):
            response.set_cookie(
                RETURN_COOKIE,
                request.url.path,
                max_age=900,
                path="/inbox",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response
    t = texts(request)
    return page(
        request,
        "error.html",
        status=401,
        title=t("sign_in.title"),
        message=t("sign_in.needed"),
        sign_in=True,
    )


def answer_failure(request: Request, failure: Exception) -> Response:
    if isinstance(failure, NotSignedIn):
        return not_signed_in(request)
    if isinstance(failure, ApiError):
        return error_page(request, failure)
    if isinstance(failure, RequestValidationError):
        return error_page(request, ApiError(422, "invalid_request", "invalid request"))
    if isinstance(failure, HTTPException):
        code = "not_found" if failure.status_code == 404 else "invalid_request"
        return error_page(request, ApiError(failure.status_code, code, "http error"))
    # Logged by type only: an exception's text can quote what the customer wrote.
    log.error("inbox_unexpected_error", error_type=type(failure).__name__)
    return error_page(request, ApiError(500, "internal", "internal error"))


class InboxRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as failure:
                response = answer_failure(request, failure)
            return protect(response)

        return answer


class InboxStatic(StaticFiles):
    """inbox.css and inbox.js, with the inbox's headers; an unknown file is the inbox's 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as failure:
            response = answer_failure(Request(scope), failure)
        return protect(response, cacheable=True)


def static_files() -> InboxStatic:
    return InboxStatic(directory=STATIC)
