"""The browser's app: server-rendered pages over the same services as the JSON API."""

from __future__ import annotations

from caseshare.http.web.mount import install

__all__ = ["install"]
