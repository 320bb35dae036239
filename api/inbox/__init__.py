"""The salesperson's inbox: server-rendered, phone-first pages under /inbox (DESIGN §4 "The
inbox"). `router` has the pages; `static_files()` serves inbox.css and inbox.js, mounted at
/inbox/static before the router (whose last route answers every other /inbox path with
the inbox's 404 page)."""

from api.inbox.pages import router
from api.inbox.rendering import static_files

STATIC_PATH = "/inbox/static"

__all__ = ["STATIC_PATH", "router", "static_files"]
