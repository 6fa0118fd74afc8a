"""The dry-run page: a mapping version (GET `?version=`) or the designer's draft (POST
`spec`) tried on the pair's last won deals, classified against Sage, writing nothing.

Reached from the designer, whose bounds on a posted draft it shares, but here in flows: it
runs the won-deal flow's checks, and flows sit above mappings. It needs the mapping's change
permission (integration admins), not its view one: each try reads Sage many times with the
connection's credentials. It runs in the request (`flows.dry_run`: batched reads, a time budget).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from clarity.permissions import RuleRequiredMixin
from connectors.errors import ConnectorError
from flows.dry_run import DEFAULT_DEALS, DRY_RUN, MAX_DEALS, DryRunRefused, dry_run
from mappings.models import Mapping
from mappings.views.designer import active_spec, mapping_or_404, read_posted


def deal_count(text: str | None) -> int:
    try:
        return min(max(int(text or DEFAULT_DEALS), 1), MAX_DEALS)
    except ValueError:
        return DEFAULT_DEALS


class DryRunView(RuleRequiredMixin, View):
    permission = DRY_RUN

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        number = request.GET.get("version", "")
        version = mapping.versions.filter(number=int(number)).first() if number.isdigit() else None
        if number and version is None:
            return self.show(
                request, mapping, error=f"There is no version {number} of this mapping."
            )
        version = version or mapping.active_version
        if version is None:
            return self.show(request, mapping, error="The mapping has no version yet: save one.")
        n = deal_count(request.GET.get("n"))
        return self.run(request, mapping, version.spec, n, f"version {version.number}")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        spec, error = read_posted(request, "spec", active_spec(mapping))
        if error or not isinstance(spec, dict):
            return self.show(request, mapping, error=error or "The draft must be one JSON object.")
        tried = "the active version" if spec == active_spec(mapping) else "the draft"
        return self.run(request, mapping, spec, deal_count(request.POST.get("n")), tried)

    def run(
        self, request: HttpRequest, mapping: Mapping, spec: dict[str, Any], n: int, tried: str
    ) -> HttpResponse:
        try:
            result = dry_run(mapping, spec, n, tried)
        except DryRunRefused as exc:
            return self.show(request, mapping, error=str(exc))
        except ConnectorError as exc:
            return self.show(
                request, mapping, error=f"Sage could not be read: {exc}. Nothing was written."
            )
        return self.show(request, mapping, result=result)

    def show(self, request: HttpRequest, mapping: Mapping, **context: Any) -> HttpResponse:
        status = 400 if context.get("error") else 200
        context |= {"mapping": mapping, "pair": mapping.pair}
        return render(request, "mappings/dry_run.html", context, status=status)
