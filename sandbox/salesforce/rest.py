"""REST resources under `/services/data/vXX.X/`: versions, limits, describe, sObject CRUD and
upsert, query/queryAll with paging. Mixed into `SalesforceSandbox`.
"""

import secrets
import threading
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.app import json_response, read_json
from sandbox.salesforce import query, soql
from sandbox.salesforce.describe import describe, global_describe, summary
from sandbox.salesforce.errors import ApiError, not_found, require_sobject
from sandbox.salesforce.records import Record, Records
from sandbox.salesforce.schema import SObject

API = "/services/data/v<version>"  # the version is checked in the app's dispatch
OLDEST_VERSION, NEWEST_VERSION = 31, 62
MAX_BATCH_SIZE = 2000


def rest_rules() -> list[Rule]:
    return [
        Rule("/services/data", endpoint="versions", methods=["GET"]),
        Rule(f"{API}", endpoint="resources", methods=["GET"]),
        Rule(f"{API}/limits", endpoint="limits", methods=["GET"]),
        Rule(f"{API}/sobjects", endpoint="global_describe", methods=["GET"]),
        Rule(f"{API}/sobjects/<obj>", endpoint="sobject", methods=["GET", "POST"]),
        Rule(f"{API}/sobjects/<obj>/describe", endpoint="describe", methods=["GET"]),
        Rule(
            f"{API}/sobjects/<obj>/<record_id>",
            endpoint="record",
            methods=["GET", "PATCH", "DELETE"],
        ),
        Rule(
            f"{API}/sobjects/<obj>/<field>/<path:value>",
            endpoint="external_id",
            methods=["GET", "PATCH"],
        ),
        Rule(f"{API}/query", endpoint="query", methods=["GET"]),
        Rule(f"{API}/queryAll", endpoint="query_all", methods=["GET"]),
        Rule(f"{API}/query/<locator>", endpoint="query_more", methods=["GET"]),
        Rule(f"{API}/queryAll/<locator>", endpoint="query_more", methods=["GET"]),
    ]


def output(obj: SObject, record: Record, version: str, fields: list[str] | None = None) -> dict:
    """A record as the API returns it: `attributes` first, then the fields in schema order."""
    shaped: dict[str, Any] = {"attributes": query.attributes(obj.name, record["Id"], version)}
    names = fields or [f.name for f in obj.fields]
    for name in names:
        field = obj.field(name)
        if field is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'")
        shaped[field.name] = record.get(field.name)
    return shaped


def created(record_id: str, **extra: Any) -> dict:
    return {"id": record_id, "success": True, "errors": [], **extra}


class QueryCursors:
    """Rows of queries still being paged through (`nextRecordsUrl`), by locator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[list[dict], int]] = {}

    def page(self, rows: list[dict], start: int, size: int, version: str, kind: str) -> dict:
        batch = rows[start : start + size]
        reply: dict[str, Any] = {"totalSize": len(rows), "done": start + size >= len(rows),
                                 "records": batch}  # fmt: skip
        if not reply["done"]:
            locator = "01g" + secrets.token_hex(8)
            with self._lock:
                self._rows[locator] = (rows, size)
            reply["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{start + size}"
        return reply

    def more(self, token: str, version: str, kind: str) -> dict:
        locator, _, start = token.rpartition("-")
        with self._lock:
            found = self._rows.get(locator)
        if found is None or not start.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, size = found
        return self.page(rows, int(start), size, version, kind)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


class RestApi:
    """The REST handlers; `records`, `cursors`, `limits` and `settings` come from the app."""

    records: Records
    cursors: QueryCursors

    def on_versions(self, request: Request) -> Response:
        return json_response([
            {"label": f"Release {v}", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(OLDEST_VERSION, NEWEST_VERSION + 1)
        ])  # fmt: skip

    def on_resources(self, request: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        names = ["sobjects", "query", "queryAll", "limits", "composite"]
        return json_response({name: f"{base}/{name}" for name in names})

    def on_limits(self, request: Request, version: str) -> Response:
        used, limit = self.limits.usage()
        return json_response({
            "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        })  # fmt: skip

    def on_global_describe(self, request: Request, version: str) -> Response:
        return json_response(global_describe(version))

    def on_describe(self, request: Request, version: str, obj: str) -> Response:
        return json_response(describe(require_sobject(obj), version))

    def on_sobject(self, request: Request, version: str, obj: str) -> Response:
        sobject = require_sobject(obj)
        if request.method == "GET":
            recent = [output(sobject, r, version, ["Id"]) for r in self.records.all(sobject)[-5:]]
            return json_response({"objectDescribe": summary(sobject, version),
                                  "recentItems": recent})  # fmt: skip
        body = read_json(request)
        if isinstance(body, dict) and "Id" in body:
            raise ApiError(400, "INVALID_FIELD", "Record ID: cannot specify Id in an insert call")
        record_id = self.records.create(sobject, body)
        return self.committed(json_response(created(record_id), status=201))

    def on_record(self, request: Request, version: str, obj: str, record_id: str) -> Response:
        sobject = require_sobject(obj)
        if request.method == "GET":
            record = self.records.existing(sobject, record_id)
            fields = request.args.get("fields")
            names = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
            return json_response(output(sobject, record, version, names))
        if request.method == "PATCH":
            self.records.update(sobject, record_id, read_json(request))
        else:
            self.records.delete(sobject, record_id)
        return self.committed(Response(status=204))

    def on_external_id(
        self, request: Request, version: str, obj: str, field: str, value: str
    ) -> Response:
        sobject = require_sobject(obj)
        if request.method == "GET":
            ext = sobject.field(field)
            if ext is None or not ext.external_id:
                raise ApiError(
                    404, "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {field}",
                )  # fmt: skip
            matches = self.records.find_by(sobject, ext, value)
            if not matches:
                raise not_found()
            return json_response(output(sobject, matches[0], version))
        body = read_json(request)
        if request.args.get("updateOnly") == "true":
            ext = sobject.field(field)
            if (
                ext is not None
                and ext.external_id
                and not self.records.find_by(sobject, ext, value)
            ):
                raise not_found()
        record_id, was_created = self.records.upsert(sobject, field, value, body)
        if was_created:
            return self.committed(json_response(created(record_id, created=True), status=201))
        if float(version) < 46:
            return self.committed(Response(status=204))
        return self.committed(json_response(created(record_id, created=False), status=200))

    def on_query(self, request: Request, version: str) -> Response:
        return self.run_query(request, version, "query", include_deleted=False)

    def on_query_all(self, request: Request, version: str) -> Response:
        return self.run_query(request, version, "queryAll", include_deleted=True)

    def on_query_more(self, request: Request, version: str, locator: str) -> Response:
        kind = "queryAll" if "/queryAll/" in request.path else "query"
        return json_response(self.cursors.more(locator, version, kind))

    def run_query(self, request: Request, version: str, kind: str, include_deleted: bool):
        parsed = soql.parse(request.args.get("q", ""), version)
        total, rows = query.run(parsed, self.records, version, include_deleted)
        if parsed.count_only or parsed.aggregate:  # aggregate results come in one page
            return json_response({"totalSize": total, "done": True, "records": rows})
        return json_response(self.cursors.page(rows, 0, self.batch_size(request), version, kind))

    def batch_size(self, request: Request) -> int:
        """`Sforce-Query-Options: batchSize=N` (200..2000), else the control setting."""
        options = request.headers.get("Sforce-Query-Options", "")
        for option in options.split(","):
            name, _, value = option.strip().partition("=")
            if name == "batchSize" and value.isdigit():
                return min(max(int(value), 200), MAX_BATCH_SIZE)
        return int(self.records.store.get_meta("query_batch_size", str(MAX_BATCH_SIZE)))
