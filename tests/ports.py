"""Free ports for the servers tests start: always on 127.0.0.1, chosen as the benches choose
theirs (processes.free_port)."""

from __future__ import annotations

from processes import free_port

__all__ = ["free_port"]
