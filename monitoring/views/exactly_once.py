"""The exactly-once page of a pair: what came in, what ran, and whether every won deal since a
day is in Sage once, counted in Sage (flows/exactly_once.py); the deals that are not, with
links to their runs."""

from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from clarity.permissions import HAS_ROLE, rule_required
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from flows.exactly_once import default_since, exactly_once


class SinceForm(forms.Form):
    since = forms.DateField(
        label="Won since",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the first day as a date (YYYY-MM-DD)."},
    )

    def since_or_default(self) -> date | None:
        """The day asked for, the default when none was given, None when it is no date."""
        if not self.data.get("since"):
            return default_since()
        return self.cleaned_data["since"] if self.is_valid() else None


@rule_required(HAS_ROLE)
def exactly_once_page(request: HttpRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(IntegrationPair.objects.select_related("erp"), slug=slug)
    form = SinceForm(request.GET or None)
    since = form.since_or_default()
    context = {"pair": pair, "form": form, "report": None, "error": ""}
    if since is not None:
        if not request.GET.get("since"):
            form = SinceForm(initial={"since": since})
            context["form"] = form
        try:
            context["report"] = exactly_once(pair, since)
        except ConnectorError as exc:
            context["error"] = f"{pair.erp.name} could not be listed: {exc} Try again later."
    return render(request, "monitoring/exactly_once.html", context)
