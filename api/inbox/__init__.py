"""The salesperson's inbox: server-rendered, phone-first pages under /inbox (docs/inbox.md "The
inbox"). `router` has the pages; `static_files()` serves inbox.css and inbox.js, mounted at
/inbox/static before the router (whose last route answers every other /inbox path with
the inbox's 404 page)."""

from fastapi import APIRouter
from starlette.routing import Route

from api.inbox import pages, results_page
from api.inbox.rendering import static_files

STATIC_PATH = "/inbox/static"

# The results page's routes first: the pages' router ends with the catch-all 404.
router = APIRouter()
router.include_router(results_page.router)
router.include_router(pages.router)


def route_templates() -> list[str]:
    """The inbox's route templates, for the access log: they are not in the OpenAPI document,
    and FastAPI no longer lists an included router's routes on the app."""
    routers = (results_page.router, pages.router)  # `router` itself lists none of theirs
    return [route.path for each in routers for route in each.routes if isinstance(route, Route)]


__all__ = ["STATIC_PATH", "route_templates", "router", "static_files"]
