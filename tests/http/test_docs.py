"""The API's own documentation: /docs sends the session's CSRF token, and every refusal's
example in the OpenAPI document carries a code its status can have (issue 9)."""

from __future__ import annotations

from caseshare.http.errors import STATUS
from tests.http.cast import HttpCast, expect


def test_openapi_examples_show_the_right_code_for_each_status(http: HttpCast) -> None:
    """Before, Swagger UI showed ``access_level_too_low`` (the enum's first value) for 401,
    403, 404 and 422 alike."""
    doc = expect(http.get(None, "/api/v1/openapi.json"), 200)
    seen: dict[str, set[str]] = {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("4") or "application/json" not in response.get(
                    "content", {}
                ):
                    continue
                content = response["content"]["application/json"]
                allowed = (
                    {"insufficient_access"}
                    if status == "401"
                    else {code for code, s in STATUS.items() if str(s) == status}
                )
                enum = content["schema"]["properties"]["code"]["enum"]
                assert set(enum) == allowed, (method, path, status)
                examples = content["examples"]
                assert examples, (method, path, status)
                for example in examples.values():
                    assert example["value"]["code"] in allowed, (method, path, status)
                    assert example["value"]["message"]
                    seen.setdefault(status, set()).add(example["value"]["code"])
    assert seen["404"] == {"not_found"}
    assert seen["401"] == {"insufficient_access"}
    assert seen["403"] == {"insufficient_access", "agreement_required"}
    assert "access_level_too_low" in seen["422"] and "not_found" not in seen["422"]


def test_docs_page_runs_swagger_ui_with_the_csrf_interceptor_and_no_inline_script(
    http: HttpCast,
) -> None:
    page = http.get(None, "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<script src="/static/swagger/swagger-ui-bundle.js"></script>' in html
    assert '<script src="/static/web/docs.js?v=' in html
    assert "<script>" not in html  # the configuration is data, the code a file
    script = http.get(None, "/static/web/docs.js")
    assert script.status_code == 200
    assert "requestInterceptor" in script.text and "X-CSRF-Token" in script.text
