"""A JSON response for the busiest reads, rendered straight by ``json.dumps``.

FastAPI passes a returned dict through ``jsonable_encoder`` first, which walks every value: 3 ms
for a page of 50 cases, ten times what ``json.dumps`` takes. Handlers whose answer is made of
JSON's own types (str, int, bool, None, lists and dicts) return ``Json(...)`` instead.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
