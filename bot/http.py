"""The one HTTP client wirebrief uses for the web (t.me previews)."""

from __future__ import annotations

import httpx

from bot import __version__

USER_AGENT = f"wirebrief/{__version__} (Telegram channel digests; polite polling)"


def make_http_client(timeout: float = 20.0, max_connections: int = 8) -> httpx.AsyncClient:
    """Timeouts on every phase, no automatic redirects (a redirect is information here)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept-Language": "en"},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=4),
    )
