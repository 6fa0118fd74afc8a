"""Streak's REST transport: v1 and v2 under one base URL, the API key as HTTP Basic user,
Streak's error bodies turned into the connector errors, and its two list styles paged.

v1 lists are bare arrays paged with `page` (from 1) and `limit`; v2 lists are
`{"results": [...], "hasNextPage": bool}`. Errors are `{"success": false, "error": …,
"details": …}`; the `error` and `details` text is kept as the error's `detail`.
"""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from connectors.errors import AuthError, ConnectorError, NotFound, TransientError, ValidationError
from connectors.http import HttpClient, described

SYSTEM, LABEL = "streak", "Streak"  # the error identity (registry key); words
DEFAULT_BASE_URL = "https://api.streak.com"
DEFAULT_RATE = 10.0  # requests a second: Streak asks to be told about more
V2_PAGE_SIZE = 100


def path_key(key: str) -> str:
    """A key as one segment of a request path."""
    return quote(str(key), safe="")


def streak_error_message(response: requests.Response) -> str:
    """Streak's own words: `error`, then `details` when there are any."""
    try:
        body = response.json()
    except ValueError:
        return ""  # not Streak's error format: described, never quoted (connectors/http.py)
    if not isinstance(body, dict):
        return ""
    error, details = body.get("error") or "", body.get("details") or ""
    return f"{error} ({details})" if error and details else str(error or details)


def streak_error_for(response: requests.Response, message: str) -> ConnectorError | None:
    """Errors whose meaning the status alone does not carry."""
    status = response.status_code
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "detail": message}
    if status == 401:
        return AuthError(f"Streak refused the API key ({status})", **kwargs)
    if message.startswith("Entity not found with key"):
        return NotFound(f"Streak has no record with that key: {message}", **kwargs)
    if status == 400:
        field = re.search(r"field (\w+)|Invalid (stage key|event|targetUrl)", message)
        name = (field.group(1) or field.group(2)) if field else "request"
        return ValidationError(
            f"Streak refused the request: {message}", fields={name: message}, **kwargs
        )
    return None


def api_root(base_url: str) -> str:
    """`https://api.streak.com/api`, whether the setting ends in /api, /api/v1 or nothing."""
    root = (base_url or DEFAULT_BASE_URL).rstrip("/")
    root = re.sub(r"/api(/v[12])?$", "", root)
    return f"{root}/api"


class StreakClient:
    """Calls Streak for one connection; paths start with the API version (`/v1/...`)."""

    def __init__(
        self, base_url: str, api_key: str, *, rate: float = DEFAULT_RATE, throttle_key: str = ""
    ) -> None:
        self.api_key = api_key
        self.http = HttpClient(
            SYSTEM,
            api_root(base_url),
            label=LABEL,
            throttle_key=throttle_key,
            rate=rate,
            auth=(api_key, ""),
            headers={"Accept": "application/json"},
            error_message=streak_error_message,
            error_for=streak_error_for,
        )

    @property
    def calls(self) -> int:
        return self.http.calls

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send once and return the JSON reply; errors arrive classified."""
        if not self.api_key:
            raise AuthError("No Streak API key is stored for this connection", system=SYSTEM)
        response = self.http.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(
                f"Streak answered {method} {path} with something that is not JSON",
                system=SYSTEM,
                status=response.status_code,
                detail=described(response),
            ) from exc

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> Any:
        """POST a JSON body (Streak answers "Missing parameters" without the content type)."""
        return self.call("POST", path, json=body, params=params)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def v1_pages(
        self, path: str, params: dict[str, Any], page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a v1 array list; a short page is the last."""
        page = 1
        while True:
            items = self.get(path, {**params, "page": page, "limit": page_size})
            yield items
            if len(items) < page_size:
                return
            page += 1

    def v2_results(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a v2 list, following `hasNextPage`."""
        page = 1
        while True:
            reply = self.get(path, {**(params or {}), "page": page, "limit": V2_PAGE_SIZE})
            if isinstance(reply, list):  # some v2 lists answer a bare array
                yield from reply
                return
            yield from reply.get("results") or []
            if not reply.get("hasNextPage"):
                return
            page += 1
