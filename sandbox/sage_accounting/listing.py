"""GET on a collection the way Sage answers it: filters, `updated_or_created_since`,
`deleted_since`, `sort`, `attributes` and the `$items`/`$next`/`$back` paging envelope."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.sage_accounting.errors import Problems
from sandbox.sage_accounting.shapes import parse_timestamp

DEFAULT_ITEMS_PER_PAGE = 20
MAX_ITEMS_PER_PAGE = 200
Filter = Callable[[dict[str, Any], str], bool]


def _has_link(field: str) -> Filter:
    return lambda doc, value: (doc.get(field) or {}).get("id") == value


def _date_from(doc: dict[str, Any], value: str) -> bool:
    return doc["date"] >= value


def _date_to(doc: dict[str, Any], value: str) -> bool:
    return doc["date"] <= value


# Collection-specific query filters Sage documents (besides search and the generic ones).
FILTERS: dict[str, dict[str, Filter]] = {
    "contacts": {
        "contact_type_id": lambda doc, value: (
            value.upper() in {t["id"] for t in doc["contact_types"]}
        ),
        "email": lambda doc, value: (doc.get("email") or "").lower() == value.lower(),
    },
    "sales_invoices": {
        "contact_id": _has_link("contact"),
        "status_id": lambda doc, value: doc["status"]["id"] == value.upper(),
        "from_date": _date_from,
        "to_date": _date_to,
    },
    "contact_payments": {
        "contact_id": _has_link("contact"),
        "transaction_type_id": lambda doc, value: doc["transaction_type"]["id"] == value.upper(),
        "from_date": _date_from,
        "to_date": _date_to,
    },
    "ledger_accounts": {"ledger_account_type_id": _has_link("ledger_account_type")},
    "contact_persons": {"contact_id": _has_link("contact")},
}
SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": ("name", "reference", "email"),
    "products": ("item_code", "description"),
    "sales_invoices": ("invoice_number", "reference", "contact_name"),
    "contact_payments": ("reference",),
    "ledger_accounts": ("name", "nominal_code"),
}


def slim(doc: dict[str, Any], attributes: str) -> dict[str, Any]:
    """What a list item shows: id/displayed_as/$path plus the attributes asked for."""
    if attributes == "all":
        return doc
    item = {key: doc[key] for key in ("id", "displayed_as", "$path") if key in doc}
    for name in filter(None, (part.strip() for part in attributes.split(","))):
        if name in doc:
            item[name] = doc[name]
    return item


def list_page(
    collection: str,
    docs: list[dict[str, Any]],
    deleted: list[dict[str, Any]],
    args: Any,
) -> dict[str, Any]:
    """The paged envelope for `GET /<collection>` with the request's query `args`."""
    problems = Problems()
    page = _positive_int(problems, args, "page", 1)
    per_page = _positive_int(problems, args, "items_per_page", DEFAULT_ITEMS_PER_PAGE)
    if per_page > MAX_ITEMS_PER_PAGE:
        problems.add("items_per_page", f"must be less than or equal to {MAX_ITEMS_PER_PAGE}")
    since = {
        name: _since(problems, args, name) for name in ("updated_or_created_since", "deleted_since")
    }
    problems.raise_if_any()
    attributes = args.get("attributes", "")
    if since["deleted_since"]:  # tombstones only: {id, displayed_as, $path, deleted_at}
        cutoff = since["deleted_since"]
        docs = [d for d in deleted if parse_timestamp(d["deleted_at"]) >= cutoff]
        attributes = "id,displayed_as,$path,deleted_at"
    else:
        docs = _filtered(collection, docs, args, since["updated_or_created_since"])
    if args.get("sort"):
        field, _, direction = args["sort"].partition(":")
        docs = sorted(
            docs,
            key=lambda d: (d.get(field) is None, str(d.get(field))),
            reverse=direction == "desc",
        )
    start = (page - 1) * per_page
    return {
        "$total": len(docs),
        "$page": page,
        "$next": _page_path(collection, args, page + 1, per_page)
        if start + per_page < len(docs)
        else None,
        "$back": _page_path(collection, args, page - 1, per_page) if page > 1 else None,
        "$itemsPerPage": per_page,
        "$items": [slim(doc, attributes) for doc in docs[start : start + per_page]],
    }


def _filtered(collection: str, docs: list[dict], args: Any, since: Any) -> list[dict]:
    if since:
        docs = [d for d in docs if parse_timestamp(d["updated_at"]) >= since]
    for name, test in FILTERS.get(collection, {}).items():
        if args.get(name):
            docs = [d for d in docs if test(d, args[name])]
    if args.get("search"):
        needle = args["search"].lower()
        fields = SEARCH_FIELDS.get(collection, ("displayed_as",))
        docs = [d for d in docs if any(needle in str(d.get(f) or "").lower() for f in fields)]
    return docs


def _page_path(collection: str, args: Any, page: int, per_page: int) -> str:
    """A relative path like Sage's `$next`: same query, another page."""
    query = {k: v for k, v in args.items() if k not in ("page", "items_per_page")}
    query.update(page=page, items_per_page=per_page)
    return f"/{collection}?{urlencode(query)}"


def _positive_int(problems: Problems, args: Any, name: str, default: int) -> int:
    try:
        value = int(args.get(name, default))
    except ValueError:
        value = 0
    if value < 1:
        problems.add(name, "must be a whole number greater than 0")
    return value


def _since(problems: Problems, args: Any, name: str) -> Any:
    if not args.get(name):
        return None
    try:
        return parse_timestamp(args[name])
    except ValueError:
        problems.add(name, "is not a valid ISO 8601 date-time")
        return None
