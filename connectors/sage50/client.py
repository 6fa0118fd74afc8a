"""Transport for the Sage Accounting API v3.1: bearer tokens, `X-Business`, `$next` paging
and Sage's error array turned into the connector errors."""

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests

from connectors.errors import AuthError, ConnectorError, RateLimited, ValidationError
from connectors.http import HttpClient, described, retry_after_seconds
from connectors.models import Connection
from connectors.sage50.oauth import LABEL, SYSTEM, TokenKeeper

REQUESTS_PER_SECOND = 20.0  # Sage publishes no limit; stay polite and let 429s slow us more
MAX_PAGE_SIZE = 200


def sage_errors(response: requests.Response) -> list[dict[str, Any]]:
    """The `[{"$severity", "$dataCode", "$message", "$source"}, …]` body, or []."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return []
    return [item for item in body if isinstance(item, dict) and "$message" in item]


def error_message(response: requests.Response) -> str:
    """Sage's own words: each error as `source: message`, joined ("" when the body is not
    Sage's error array: the HTTP helper describes it, never quotes it)."""
    items = sage_errors(response)
    return "; ".join(
        f"{item['$source']}: {item['$message']}" if item.get("$source") else str(item["$message"])
        for item in items
    )


def error_for(response: requests.Response, message: str) -> ConnectorError | None:
    """Refused data → ValidationError naming each field; the rest by status (`classify`)."""
    items = sage_errors(response)
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": response.status_code, "detail": message}
    if response.status_code == 429:
        return RateLimited(
            f"Sage asked us to slow down (429): {message}",
            retry_after=retry_after_seconds(response),
            **kwargs,
        )
    if response.status_code in (400, 422) and items:
        fields: dict[str, str] = {}
        for item in items:
            source = item.get("$source") or ""
            fields[source] = "; ".join(filter(None, (fields.get(source), item["$message"])))
        return ValidationError(f"Sage refused the data: {message}.", fields=fields, **kwargs)
    return None


class JSONEncoder(json.JSONEncoder):
    """Decimals as strings (Sage's money is decimal text), dates as ISO 8601."""

    def default(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date | datetime):
            return value.isoformat()
        return super().default(value)


class SageClient:
    """One connection's API calls. A 401 on a token we believed valid is refreshed and that
    call sent once more: the only retry here, safe because the request never reached data."""

    def __init__(self, connection: Connection) -> None:
        settings = connection.settings or {}
        headers = {"Accept": "application/json"}
        if settings.get("business_id"):
            headers["X-Business"] = settings["business_id"]
        self.tokens = TokenKeeper(connection)
        self.http = HttpClient(
            SYSTEM,
            settings["api_url"],
            label=LABEL,
            throttle_key=f"sage50:{connection.pk}",
            rate=REQUESTS_PER_SECOND,
            headers=headers,
            error_message=error_message,
            error_for=error_for,
        )

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """Send one call and return its JSON (None for an empty reply)."""
        if body is not None:
            kwargs["data"] = json.dumps(body, cls=JSONEncoder)
            kwargs["headers"] = {"Content-Type": "application/json"}
        token = self.tokens.access_token()
        try:
            response = self._send(method, path, token, **kwargs)
        except AuthError as exc:
            if exc.status != 401:
                raise
            response = self._send(method, path, self.tokens.refresh(stale=token), **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"Sage answered {method} {path} with something that is not JSON.",
                system=SYSTEM,
                status=response.status_code,
                detail=described(response),
            ) from exc

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params or None)

    def items(self, path: str, page_size: int = MAX_PAGE_SIZE, **params: Any) -> Iterator[dict]:
        """Every item of a list, lazily: one page is fetched only when the last is used up.

        `$next` is a path relative to the API base that already carries the query; an
        absolute one is followed only on the API's own address (`HttpClient.url`), so a
        reply cannot send the bearer token elsewhere.
        """
        page = self.get(path, items_per_page=min(page_size, MAX_PAGE_SIZE), **params)
        while True:
            yield from page.get("$items") or []
            next_path = page.get("$next")
            if not next_path:
                return
            page = self.get(next_path)
