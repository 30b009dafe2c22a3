"""``/docs``: Swagger UI from the installed package, sending the session's CSRF token.

A person signed in in the browser can try writes here: the page's script asks
``GET /api/v1/session`` for the session's CSRF token and adds it (``X-CSRF-Token``) to every
write Swagger UI sends (a request interceptor); signing in or out from the page updates it.
No inline script: the configuration is in data attributes, the code in ``static/docs.js``.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from markupsafe import escape

from caseshare.http.web.templating import static

SWAGGER = "/static/swagger"


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
<link rel="icon" href="{SWAGGER}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(openapi_url)}"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="{static("docs.js")}"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
