"""The salesperson's inbox: server-rendered, phone-first pages under /inbox (DESIGN §4 "The
inbox"). `router` has the pages; `static_files()` serves inbox.css and inbox.js, mounted at
/inbox/static before the router (whose last route answers every other /inbox path with
the inbox's 404 page)."""

from starlette.routing import Route

from api.inbox.pages import router
from api.inbox.rendering import static_files

STATIC_PATH = "/inbox/static"


def route_templates() -> list[str]:
    """The inbox's route templates, for the access log: they are not in the OpenAPI document,
    and FastAPI no longer lists an included router's routes on the app."""
    return [route.path for route in router.routes if isinstance(route, Route)]


__all__ = ["STATIC_PATH", "route_templates", "router", "static_files"]
