"""How Streak reads requests and pages lists, shared by every API handler."""

import json
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.app import json_response
from sandbox.streak.records import StreakError

SEARCH_PAGE_SIZE = 1000  # the most boxes one v1 list or search page holds
V2_PAGE_SIZE = 100


def api_rules(prefix: str, rules: list[tuple[str, str, list[str]]]) -> list[Rule]:
    return [Rule(prefix + path, endpoint=name, methods=methods) for path, name, methods in rules]


def json_object(text: str) -> dict[str, Any]:
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StreakError(400, "Invalid JSON", str(exc)) from None
    if not isinstance(params, dict):
        raise StreakError(400, "Invalid JSON", "expected an object")
    return params


def read_params(request: Request) -> dict[str, Any]:
    """The body as Streak reads it: JSON; or a form (legacy `json=<JSON>` field or plain
    fields); or, for legacy PUTs, the query string. A bare body without a JSON content type
    is Streak's "Missing parameters"."""
    if request.mimetype == "application/json":
        return json_object(request.get_data(as_text=True) or "{}")
    if request.form:
        if "json" in request.form:
            return json_object(request.form["json"])
        return request.form.to_dict()
    if request.get_data():
        raise StreakError(400, "Missing parameters")
    return {key: value for key, value in request.args.items() if not key.endswith("Key")}


def page_of(items: list[Any], request: Request, default_size: int) -> tuple[list[Any], bool]:
    """`page` (from 1) and `limit` from the query; returns the page and whether more follow."""
    try:
        page = int(request.args.get("page", 1))
        size = int(request.args.get("limit", default_size))
    except ValueError:
        raise StreakError(400, "Invalid paging parameters", "page and limit are integers") from None
    if page < 1 or size < 1:
        raise StreakError(400, "Invalid paging parameters", "page and limit start at 1")
    start = (page - 1) * size
    return items[start : start + size], len(items) > start + size


def v2_list(items: list[Any], request: Request) -> Response:
    results, has_next = page_of(items, request, V2_PAGE_SIZE)
    return json_response({"results": results, "hasNextPage": has_next})
