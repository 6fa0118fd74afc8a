"""What the designer pages share: their rule, and reading JSON posted by the page."""

import json
from typing import Any

from django.http import HttpRequest

from clarity.permissions import RuleRequiredMixin, reads_writes

VIEW_MAPPING = "mappings.view_mapping"
CHANGE_MAPPING = "mappings.change_mapping"


class ReadWriteMixin(RuleRequiredMixin):
    """A mapping page: looking needs the mapping's view permission, anything else (saving,
    restoring) its change permission. Pages with another rule declare their own."""

    permission = reads_writes(VIEW_MAPPING, CHANGE_MAPPING)


def posted_json(request: HttpRequest, name: str, default: Any) -> tuple[Any, str]:
    """A JSON form field, and a sentence saying what is wrong with it (or "")."""
    text = request.POST.get(name, "").strip()
    if not text:
        return default, ""
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as exc:
        return (
            default,
            f"That is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}.",
        )
