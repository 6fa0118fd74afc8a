"""Sage Accounting's error shape: a JSON array of `{"$severity", "$dataCode", "$message",
"$source"}` objects, raised from anywhere in a request and turned into the reply."""

from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.core.app import json_response


def error_item(data_code: str, message: str, source: str = "") -> dict[str, str]:
    return {"$severity": "error", "$dataCode": data_code, "$message": message, "$source": source}


def error_response(status: int, data_code: str, message: str, source: str = "") -> Response:
    return json_response([error_item(data_code, message, source)], status=status)


class SageError(HTTPException):
    """An API error reply; `errors` is the list of error items Sage would send."""

    def __init__(self, status: int, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["$message"] if errors else "")
        self.code = status
        self.errors = errors

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        response = json_response(self.errors, status=self.code or 500)
        if self.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response


def not_found(message: str = "Record not found") -> SageError:
    return SageError(404, [error_item("RecordNotFound", message)])


def invalid(source: str, message: str) -> SageError:
    """A 422 about one field (`source` is its path, "" for the record as a whole)."""
    return SageError(422, [error_item("RecordInvalid", message, source)])


class Problems:
    """Collects validation problems so one 422 reports them all, like Sage does."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, source: str, message: str) -> None:
        self.items.append(error_item("RecordInvalid", message, source))

    def raise_if_any(self) -> None:
        if self.items:
            raise SageError(422, self.items)
