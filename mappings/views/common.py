"""What every designer page shares: reading needs a view permission, writing a change one."""

import json
from typing import Any

from django.http import HttpRequest

from connectors.views import RoleRequiredMixin


class ReadWriteMixin(RoleRequiredMixin):
    """GET and HEAD need `read_permission`; anything else `write_permission` (403 if not)."""

    read_permission = "mappings.view_mapping"
    write_permission = "mappings.change_mapping"

    def get_permission_required(self) -> tuple[str, ...]:
        safe = self.request.method in ("GET", "HEAD", "OPTIONS")
        return (self.read_permission if safe else self.write_permission,)


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
