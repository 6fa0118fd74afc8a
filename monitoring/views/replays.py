"""A pair's period replays: "Replay a period…" (choose the flow, the dates and the mapping
version, see how many events match, start), a replay's progress (a card htmx refreshes
while it is open, like the initial load's) with its summary, log and Cancel, and the list
of past replays. The rules live in `flows.replays`, shared with the API."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import localdate
from django.views.decorators.http import require_POST

from clarity.permissions import rule_required
from connectors.models import IntegrationPair
from flows.models import FlowConfig, Replay, SyncRun
from flows.registry import FLOWS
from flows.replays import OPEN, REPLAYS, ReplayRefused, cancel_replay, preview, settle, start_replay
from flows.services import INITIAL_LOAD
from mappings.models import MappingVersion

PAST_SHOWN = 50


class ReplayForm(forms.Form):
    flow = forms.ChoiceField()
    since = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}), help_text="Included."
    )
    mapping_version = forms.ModelChoiceField(
        MappingVersion.objects.none(),
        required=False,
        empty_label="The active version of each mapping (current)",
        help_text="The chosen version maps its own record; the flow's other mappings use "
        "their active versions.",
    )

    def __init__(self, pair: IntegrationPair, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        listed = FlowConfig.objects.filter(pair=pair).exclude(flow=INITIAL_LOAD)
        configs = [config for config in listed.order_by("-enabled", "flow") if config.flow in FLOWS]
        self.fields["flow"].choices = [
            (config.flow, FLOWS[config.flow].label + ("" if config.enabled else " (off)"))
            for config in configs
        ]
        if configs:  # the pair's flows that are on come first, the first one chosen
            self.fields["flow"].initial = configs[0].flow
        versions = MappingVersion.objects.filter(mapping__pair=pair).select_related("mapping")
        self.fields["mapping_version"].queryset = versions.order_by("mapping__name", "-number")
        self.fields["mapping_version"].label_from_instance = version_label

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(f"The period starts ({since}) after it ends ({until}).")
        return data


def version_label(version: MappingVersion) -> str:
    active = " (active)" if version.mapping.active_version_id == version.pk else ""
    note = f" — {version.note}" if version.note else ""
    return f"{version.mapping.name} v{version.number}{active}{note}"


def pair_of(slug: str) -> IntegrationPair:
    return get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)


@rule_required(REPLAYS)
def pair_replays(request: HttpRequest, slug: str) -> HttpResponse:
    """The form (GET) or starting a replay (POST), above the pair's past replays."""
    pair = pair_of(slug)
    today = localdate()
    form = ReplayForm(pair, request.POST or None, initial={"since": today, "until": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            replay = start_replay(pair, data["flow"], data["since"], data["until"],
                                  data["mapping_version"], request.user)  # fmt: skip
        except ReplayRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Replay of {replay.since} to {replay.until} started.")
            return redirect("replay-detail", slug=pair.slug, pk=replay.pk)
    replays = list(Replay.objects.filter(pair=pair).select_related("requested_by")[:PAST_SHOWN])
    for replay in replays:
        replay.flow_label = FLOWS[replay.flow].label if replay.flow in FLOWS else replay.flow
    context = {
        "pair": pair,
        "form": form,
        "replays": [settle(replay) if replay.status in OPEN else replay for replay in replays],
        "can_start": REPLAYS.allows(request.user),
    }
    status = 400 if form.errors else 200
    return render(request, "monitoring/replays.html", context, status=status)


@rule_required(REPLAYS)
def replay_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """How many events the chosen period holds (htmx, as the form changes)."""
    pair = pair_of(slug)
    form = ReplayForm(pair, request.GET)
    found = None
    if form.is_valid():
        data = form.cleaned_data
        found = preview(pair, data["flow"], data["since"], data["until"])
    context = {"form": form, "found": found}
    return render(request, "monitoring/_replay_preview.html", context)


def replay_context(slug: str, pk: int) -> dict[str, Any]:
    replay = get_object_or_404(
        Replay.objects.select_related("pair", "mapping_version__mapping", "requested_by"),
        pair__slug=slug,
        pk=pk,
    )
    if replay.status in OPEN:
        settle(replay)
    handled = replay.replayed + replay.skipped
    return {
        "pair": replay.pair,
        "replay": replay,
        "active": replay.status in OPEN,
        "percent": int(handled * 100 / replay.events) if replay.events else 100,
        "handled": handled,
        "flow": FLOWS.get(replay.flow),
        "log": with_run_outcomes(replay),
    }


def with_run_outcomes(replay: Replay) -> list[dict[str, Any]]:
    """The log, newest first, each replayed line with its run's status and document now."""
    runs = {run.pk: run for run in SyncRun.objects.filter(replay=replay)}
    lines = []
    for line in reversed(replay.log):
        run = runs.get(line.get("run"))
        lines.append({**line, "run_status": run.get_status_display() if run else "",
                      "document": run.document if run else ""})  # fmt: skip
    return lines


@rule_required(REPLAYS)
def replay_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    context = replay_context(slug, pk) | {"can_cancel": REPLAYS.allows(request.user)}
    return render(request, "monitoring/replay_detail.html", context)


@rule_required(REPLAYS)
def replay_progress(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The progress card alone, for htmx polling."""
    context = replay_context(slug, pk) | {"can_cancel": REPLAYS.allows(request.user)}
    return render(request, "monitoring/_replay_progress.html", context)


@rule_required(REPLAYS)
@require_POST
def replay_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    replay = get_object_or_404(Replay, pair__slug=slug, pk=pk)
    try:
        cancel_replay(replay, request.user)
    except ReplayRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Replay cancelled: runs already started finish on their own.")
    return redirect("replay-detail", slug=slug, pk=pk)
