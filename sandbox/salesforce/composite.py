"""sObject Collections (`/composite/sobjects`, up to 200 records) and Composite
(`/composite`, up to 25 subrequests with `@{ref.field}` references). Mixed into the app.

Each record or subrequest runs in a SQLite savepoint, so a failed one leaves nothing behind;
with allOrNone the whole call rolls back.
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from sandbox.core.app import json_response, read_json
from sandbox.salesforce.errors import ApiError, require_sobject
from sandbox.salesforce.records import Records
from sandbox.salesforce.rest import API, created, output
from sandbox.salesforce.schema import BY_PREFIX

MAX_RECORDS = 200
MAX_SUBREQUESTS = 25
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}
HALTED = [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since "
           "another operation in the same transaction failed."}]  # fmt: skip
REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def composite_rules() -> list[Rule]:
    return [
        Rule(f"{API}/composite", endpoint="composite", methods=["POST"]),
        Rule(
            f"{API}/composite/sobjects",
            endpoint="collection",
            methods=["GET", "POST", "PATCH", "DELETE"],
        ),
        Rule(f"{API}/composite/sobjects/<obj>", endpoint="collection_get", methods=["GET"]),
        Rule(
            f"{API}/composite/sobjects/<obj>/<field>",
            endpoint="collection_upsert",
            methods=["PATCH"],
        ),
    ]


class RollBack(Exception):
    """Raised out of the outer transaction to undo an allOrNone call."""


def failure(error: ApiError, record_id: str | None = None) -> dict:
    result: dict[str, Any] = {"success": False, "errors": [
        {"statusCode": error.error_code, "message": error.message, "fields": error.fields}
    ]}  # fmt: skip
    if record_id:
        result["id"] = record_id
    return result


class CompositeApi:
    records: Records

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.records.store.transaction() as db:
            db.execute("SAVEPOINT one")
            try:
                yield
            except BaseException:
                db.execute("ROLLBACK TO one")
                db.execute("RELEASE one")
                raise
            db.execute("RELEASE one")

    def run_all(self, all_or_none: bool, steps: list[Callable[[], dict]]) -> list[dict]:
        """Run each step in its own savepoint; step errors become failure results."""
        results: list[dict] = []
        try:
            with self.records.store.transaction():
                for step in steps:
                    try:
                        with self.savepoint():
                            results.append(step())
                    except ApiError as error:
                        results.append(failure(error, getattr(step, "record_id", None)))
                if all_or_none and not all(r["success"] for r in results):
                    raise RollBack
        except RollBack:
            return [
                r
                if not r["success"]
                else {"id": r.get("id"), "success": False, "errors": [ROLLED_BACK]}
                for r in results
            ]
        return results

    def on_collection(self, request: Request, version: str) -> Response:
        if request.method == "DELETE":
            record_ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            self.check_count(record_ids)
            steps = [self.delete_step(record_id) for record_id in record_ids]
            return self.committed(json_response(self.run_all(all_or_none, steps)))
        if request.method == "GET":
            raise ApiError(400, "INVALID_FIELD", "Object type is required: /composite/sobjects/X")
        body = read_json(request) or {}
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Missing records array in request body")
        self.check_count(records)
        make = self.create_step if request.method == "POST" else self.update_step
        steps = [make(record) for record in records]
        return self.committed(json_response(self.run_all(bool(body.get("allOrNone")), steps)))

    def on_collection_get(self, request: Request, version: str, obj: str) -> Response:
        sobject = require_sobject(obj)
        fields = [f for f in request.args.get("fields", "Id").split(",") if f]
        found = []
        for record_id in [i for i in request.args.get("ids", "").split(",") if i]:
            try:
                found.append(output(sobject, self.records.existing(sobject, record_id), version,
                                    fields))  # fmt: skip
            except ApiError:
                found.append(None)
        return json_response(found)

    def on_collection_upsert(self, request: Request, version: str, obj: str, field: str):
        sobject = require_sobject(obj)
        body = read_json(request) or {}
        records = body.get("records", []) if isinstance(body, dict) else []
        self.check_count(records)

        def upsert(record: dict) -> Callable[[], dict]:
            def step() -> dict:
                data = {k: v for k, v in record.items() if k != field}
                record_id, was_created = self.records.upsert(
                    sobject, field, record.get(field), data
                )
                return created(record_id, created=was_created)

            return step

        steps = [upsert(r) for r in records]
        return self.committed(json_response(self.run_all(bool(body.get("allOrNone")), steps)))

    @staticmethod
    def check_count(items: list) -> None:
        if len(items) > MAX_RECORDS:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )  # fmt: skip

    def create_step(self, record: Any) -> Callable[[], dict]:
        def step() -> dict:
            sobject = self.typed(record)
            if "Id" in record:
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return created(self.records.create(sobject, record))

        return step

    def update_step(self, record: Any) -> Callable[[], dict]:
        def step() -> dict:
            sobject = self.typed(record)
            if not record.get("Id"):
                raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
            data = {k: v for k, v in record.items() if k != "Id"}
            return created(self.records.update(sobject, record["Id"], data))

        step.record_id = record.get("Id") if isinstance(record, dict) else None
        return step

    def delete_step(self, record_id: str) -> Callable[[], dict]:
        def step() -> dict:
            sobject = BY_PREFIX.get(record_id[:3])
            if sobject is None:
                raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
            self.records.delete(sobject, record_id)
            return created(record_id)

        step.record_id = record_id
        return step

    @staticmethod
    def typed(record: Any):
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        return require_sobject(record["attributes"].get("type", ""))

    # ------------------------------------------------------------ /composite

    def on_composite(self, request: Request, version: str) -> Response:
        body = read_json(request) or {}
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        if len(subrequests) > MAX_SUBREQUESTS:
            raise ApiError(400, "LIMIT_EXCEEDED", "Max subrequests limit exceeded: 25")
        all_or_none = bool(body.get("allOrNone"))
        authorization = request.headers.get("Authorization", "")
        replies: list[dict] = []
        bodies: dict[str, Any] = {}
        try:
            with self.records.store.transaction():
                for sub in subrequests:
                    reply = self.subrequest(sub, bodies, authorization)
                    replies.append(reply)
                    bodies[sub.get("referenceId", "")] = reply["body"]
                    if all_or_none and reply["httpStatusCode"] >= 400:
                        raise RollBack
        except RollBack:
            failed = len(replies) - 1
            replies = [
                r if i == failed else {**r, "body": HALTED, "httpStatusCode": 400}
                for i, r in enumerate(replies)
            ]
            replies += [
                {"body": HALTED, "httpHeaders": {}, "httpStatusCode": 400,
                 "referenceId": sub.get("referenceId")}
                for sub in subrequests[len(replies):]
            ]  # fmt: skip
        return self.committed(json_response({"compositeResponse": replies}))

    def subrequest(self, sub: dict, bodies: dict[str, Any], authorization: str) -> dict:
        reference_id = sub.get("referenceId")
        try:
            url = resolve(sub.get("url", ""), bodies)
            payload = resolve(sub.get("body"), bodies)
        except KeyError as missing:
            return {"body": [{"errorCode": "PROCESSING_HALTED", "message": (
                f"Invalid reference specified. No value for {missing.args[0]} found in a previous "
                "subrequest.")}], "httpHeaders": {}, "httpStatusCode": 400,
                "referenceId": reference_id}  # fmt: skip
        parts = urlsplit(url)
        environ = EnvironBuilder(
            path=parts.path, query_string=parts.query, method=sub.get("method", "GET").upper(),
            data=json.dumps(payload) if payload is not None else None,
            headers={"Authorization": authorization, "Content-Type": "application/json",
                     **(sub.get("httpHeaders") or {})},
        ).get_environ()  # fmt: skip
        with self.savepoint_unless_failed() as outcome:
            response = self.route(Request(environ))
            outcome.append(response.status_code)
        text = response.get_data(as_text=True)
        headers = {"Location": f"{parts.path.rstrip('/')}/{json.loads(text)['id']}"} if (
            response.status_code == 201) else {}  # fmt: skip
        return {"body": json.loads(text) if text else None, "httpHeaders": headers,
                "httpStatusCode": response.status_code, "referenceId": reference_id}  # fmt: skip

    @contextmanager
    def savepoint_unless_failed(self) -> Iterator[list[int]]:
        """A savepoint rolled back when the subrequest answered an error status."""
        outcome: list[int] = []
        with self.records.store.transaction() as db:
            db.execute("SAVEPOINT sub")
            yield outcome
            if outcome and outcome[0] >= 400:
                db.execute("ROLLBACK TO sub")
            db.execute("RELEASE sub")

    def route(self, request: Request) -> Response:
        """Dispatch an internal subrequest: no faults, no extra API call counted."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return getattr(self, f"on_{endpoint}")(request, **values)
        except HTTPException as exc:
            if exc.code == 404 and not isinstance(exc, ApiError):
                missing = {
                    "errorCode": "NOT_FOUND",
                    "message": "The requested resource does not exist",
                }
                return json_response([missing], status=404)
            return exc.get_response(request.environ)


def resolve(value: Any, bodies: dict[str, Any]) -> Any:
    """Replace `@{ref.path}` in strings (recursively); a whole-string reference keeps its type."""
    if isinstance(value, dict):
        return {k: resolve(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, bodies) for v in value]
    if not isinstance(value, str):
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        return lookup(whole, bodies)
    return REFERENCE.sub(lambda m: str(lookup(m, bodies)), value)


def lookup(match: re.Match, bodies: dict[str, Any]) -> Any:
    name, path = match.group(1), match.group(2)
    if name not in bodies:
        raise KeyError(f"{name}{path}")
    value = bodies[name]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            raise KeyError(f"{name}{path}") from None
    return value
