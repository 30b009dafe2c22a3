"""The HTTP service: the JSON API, sign-in and the OpenRosa device endpoints over the services."""

from __future__ import annotations

from caseshare.http.app import create_app

__all__ = ["create_app"]
