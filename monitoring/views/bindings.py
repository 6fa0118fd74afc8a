"""The bindings page: which CRM record is bound to which Sage record, per pair — search them,
open either side, rebind one to another Sage record or unbind it, with a note the audit log
keeps — and "Duplicates found": the deals held because Sage has several customers matching
their organization, each with the candidates and a link to the run's choice.

The rules and checks are `flows.bindings`', shared with the API."""

from django import forms
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from clarity.permissions import rule_required
from connectors.errors import Ambiguous
from connectors.models import IntegrationPair
from flows.bindings import (
    BINDINGS,
    NOTE_LENGTH,
    NOUNS,
    BindingRefused,
    after_unbind,
    bindings,
    crm_link,
    newest_runs,
    noun,
    rebind,
    sage_link,
    unbind,
)
from flows.models import ExternalLink, SyncRun
from monitoring.views.errors import unresolved

PAGE_SIZE = 50
DUPLICATES = "duplicates"  # the tab
DUPLICATES_SHOWN = 100
HELD = (SyncRun.Status.FAILED, SyncRun.Status.DEAD)


class BindingFilterForm(forms.Form):
    """What the list can be narrowed by; every field is optional."""

    pair = forms.ModelChoiceField(
        IntegrationPair.objects.only("name", "slug"),
        required=False,
        to_field_name="slug",
        empty_label="All pairs",
    )
    entity = forms.ChoiceField(
        choices=[
            ("", "All records"),
            *((key, f"{name.capitalize()}s") for key, name in NOUNS.items()),
        ],
        required=False,
        label="Record",
    )
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "CRM id, Sage id or name", "size": 28}),
    )

    def chosen(self) -> tuple[str, str, str] | None:
        """(pair slug, entity, search), empty where not given; None while the form has an
        error, so that no list is shown as if it were the one asked for."""
        if not self.is_bound:
            return "", "", ""
        if not self.is_valid():
            return None
        pair = self.cleaned_data["pair"]
        return (pair.slug if pair else "", self.cleaned_data["entity"], self.cleaned_data["q"])


class RebindForm(forms.Form):
    sage_id = forms.CharField(max_length=255, strip=True)
    note = forms.CharField(max_length=NOTE_LENGTH, required=False)


class UnbindForm(forms.Form):
    note = forms.CharField(max_length=NOTE_LENGTH, required=False)


@rule_required(BINDINGS)
def binding_list(request: HttpRequest) -> HttpResponse:
    form = BindingFilterForm(request.GET or None)
    chosen = form.chosen()
    pair, entity, search = chosen or ("", "", "")
    links = bindings(pair, entity, search) if chosen else ExternalLink.objects.none()
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    links = list(page)
    runs = newest_runs(links)
    rows = [
        {
            "link": link,
            "noun": noun(link),
            "crm_link": crm_link(link),
            "sage_link": sage_link(link),
            "run": runs.get(link.pk),
            "after_unbind": after_unbind(link),
        }
        for link in links
    ]
    held = held_on_duplicates(pair)
    query = request.GET.copy()
    query.pop("page", None)
    audit_model = ContentType.objects.get_for_model(ExternalLink)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "held": held,
        "tab": DUPLICATES if request.GET.get("tab") == DUPLICATES else "",
        "query": query.urlencode(),
        "filters": urlencode({"pair": pair} if pair else {}),
        "can_change": BINDINGS.allows(request.user),
        "choices": choices_by_pair(held),
        "audit_url": f"{reverse('audit-log')}?{urlencode({'model': audit_model.pk})}",
    }
    return render(request, "monitoring/bindings.html", context)


def held_on_duplicates(pair: str) -> list[SyncRun]:
    """Runs held on "choose the customer" (Sage has several that match), newest first, each
    with its candidates; those someone resolved or dismissed are not held any more."""
    runs = unresolved(SyncRun.objects.filter(error_class=Ambiguous.__name__, status__in=HELD))
    if pair:
        runs = runs.filter(pair__slug=pair)
    held = list(runs.select_related("pair__erp").order_by("-created_at", "-pk")[:DUPLICATES_SHOWN])
    for run in held:
        run.candidates = sorted(Ambiguous.candidates_in(run.error_fields or {}).items())
    return held


def choices_by_pair(held: list[SyncRun]) -> dict[int, list[tuple[str, str]]]:
    """The Sage customers held runs found, per pair: the rebind form offers them."""
    found: dict[int, dict[str, str]] = {}
    for run in held:
        found.setdefault(run.pair_id, {}).update(run.candidates)
    return {pair: sorted(candidates.items()) for pair, candidates in found.items()}


@rule_required(BINDINGS)
@require_POST
def rebind_binding(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(ExternalLink.objects.select_related("pair__crm", "pair__erp"), pk=pk)
    form = RebindForm(request.POST)
    label = link.pair.erp.system_label
    if not form.is_valid():
        messages.error(
            request, f"Type the {label} {noun(link)} id to rebind to (at most 255 characters)."
        )
        return back(request, link)
    try:
        rebind(link, form.cleaned_data["sage_id"], request.user, form.cleaned_data["note"])
    except BindingRefused as refused:
        messages.error(request, str(refused))
        return back(request, link)
    messages.success(
        request,
        f"CRM record {link.crm_id} is bound to {label} {noun(link)} {link.sage_id} now: "
        "the next runs use it.",
    )
    return redirect(listed(link.pair.slug, link.crm_id))  # where the rebound record shows


@rule_required(BINDINGS)
@require_POST
def unbind_binding(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(ExternalLink.objects.select_related("pair__erp"), pk=pk)
    form = UnbindForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Keep the note under {NOTE_LENGTH} characters, then unbind again.")
        return back(request, link)
    said = (
        f"CRM record {link.crm_id} is no longer bound to {link.pair.erp.system_label} "
        f"{noun(link)} {link.sage_id}. {after_unbind(link)}"
    )
    unbind(link, request.user, form.cleaned_data["note"])
    messages.success(request, said)
    return back(request, link)


def back(request: HttpRequest, link: ExternalLink) -> HttpResponse:
    """To the list the form was sent from (a path on this site only), else the pair's."""
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(wanted)
    return redirect(listed(link.pair.slug))


def listed(pair: str, search: str = "") -> str:
    """The list of the pair's bindings, searched for `search`."""
    query = {"pair": pair, "q": search} if search else {"pair": pair}
    return f"{reverse('binding-list')}?{urlencode(query)}"
