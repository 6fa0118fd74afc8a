"""Errors the REST API answers, raised from anywhere in a handler (they are HTTPExceptions)."""

from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.core.app import json_response
from sandbox.salesforce.schema import SObject, sobject


class ApiError(HTTPException):
    """An error the REST API answers as `[{"message", "errorCode", "fields"}]`; an
    HTTPException so a handler can raise it from anywhere."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = status, message, fields or []
        self.error_code = code

    def body(self) -> list[dict]:
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return json_response(self.body(), status=self.code)


class MultipleMatches(HTTPException):
    """Upsert by an external ID that several records share: Salesforce answers 300."""

    code = 300

    def __init__(self, obj: SObject, record_ids: list[str]) -> None:
        super().__init__(obj.name)
        self.urls = [f"/services/data/v59.0/sobjects/{obj.name}/{i}" for i in record_ids]

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return json_response(self.urls, status=300)


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def require_sobject(name: str) -> SObject:
    found = sobject(name)
    if found is None:
        raise not_found()
    return found
