"""A pair's flows: each one on or off, its trigger and options, and pausing the whole pair.

The options form is built from the flow template's `default_options`, so a new option shows
up here by being declared in the template."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clarity.audit import record_action
from connectors.models import IntegrationPair
from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS
from flows.runner import enqueue

CHANGE_FLOWS = "flows.change_flowconfig"


class FlowConfigForm(forms.Form):
    """`enabled`, `trigger`, then one field per option of the flow template."""

    enabled = forms.BooleanField(required=False, label="Enabled")
    trigger = forms.ChoiceField(choices=FlowConfig.Trigger.choices)

    def __init__(self, config: FlowConfig, *args: Any, **kwargs: Any) -> None:
        defaults = FLOWS[config.flow].default_options if config.flow in FLOWS else {}
        initial = {"enabled": config.enabled, "trigger": config.trigger}
        initial |= {
            f"option_{name}": config.options.get(name, default)
            for name, default in defaults.items()
        }
        super().__init__(*args, initial=initial, prefix=f"flow-{config.pk}", **kwargs)
        self.config = config
        self.defaults = defaults
        for name, default in defaults.items():
            self.fields[f"option_{name}"] = option_field(name, default)

    def save(self) -> FlowConfig:
        data = self.cleaned_data
        self.config.enabled = data["enabled"]
        self.config.trigger = data["trigger"]
        options = dict(self.config.options)
        for name in self.defaults:
            value = data[f"option_{name}"]
            options[name] = float(value) if isinstance(value, Decimal) else value
        self.config.options = options
        self.config.save(update_fields=["enabled", "trigger", "options", "updated_at"])
        return self.config

    def option_fields(self) -> list[forms.BoundField]:
        return [self[f"option_{name}"] for name in self.defaults]


def option_field(name: str, default: Any) -> forms.Field:
    """A form field that fits the default's type."""
    label = name.replace("_", " ").capitalize()
    help_text = f"Default: {default!r}" if default not in ("", [], {}) else "Empty: the default"
    if isinstance(default, bool):
        return forms.BooleanField(required=False, label=label, help_text=help_text)
    if isinstance(default, int):
        return forms.IntegerField(label=label, help_text=help_text, min_value=0)
    if isinstance(default, float):
        return forms.DecimalField(label=label, help_text=help_text, min_value=0)
    if isinstance(default, list | dict):
        return forms.JSONField(
            required=False,
            label=label,
            help_text=f"JSON. {help_text}",
            widget=forms.Textarea(attrs={"rows": 2}),
        )
    return forms.CharField(required=False, label=label, help_text=help_text)


@login_required
@permission_required("flows.view_flowconfig", raise_exception=True)
def pair_flows(request: HttpRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
    configs = list(FlowConfig.objects.filter(pair=pair))
    bound_pk = int(request.POST.get("config", 0) or 0) if request.method == "POST" else None
    if request.method == "POST":
        if not request.user.has_perm(CHANGE_FLOWS):
            raise PermissionDenied("Only integration admins change a pair's flows.")
        config = get_object_or_404(FlowConfig, pk=bound_pk, pair=pair)
        form = FlowConfigForm(config, request.POST)
        if form.is_valid():
            form.save()
            label = FLOWS[config.flow].label if config.flow in FLOWS else config.flow
            messages.success(request, f"“{label}” saved.")
            return redirect("pair-flows", slug=pair.slug)
        forms_by_config = {config.pk: form}
    else:
        forms_by_config = {}
    rows = [
        {
            "config": config,
            "flow": FLOWS.get(config.flow),
            "form": forms_by_config.get(config.pk) or FlowConfigForm(config),
        }
        for config in configs
    ]
    context = {
        "pair": pair,
        "rows": rows,
        "can_change": request.user.has_perm(CHANGE_FLOWS),
        "waiting": SyncRun.objects.filter(pair=pair, status__in=SyncRun.CLAIMABLE).count(),
    }
    status = 400 if forms_by_config else 200  # a form came back with errors
    return render(request, "monitoring/pair_flows.html", context, status=status)


@login_required
@permission_required("connectors.pause_integrationpair", raise_exception=True)
@require_POST
def pause_pair(request: HttpRequest, slug: str) -> HttpResponse:
    """Pause or resume the pair; resuming rings the doorbell of every run it held back."""
    pair = get_object_or_404(IntegrationPair, slug=slug)
    resume = request.POST.get("action") == "resume"
    with transaction.atomic():
        IntegrationPair.objects.filter(pk=pair.pk).update(enabled=resume)
        record_action(request.user, pair, "resumed" if resume else "paused")
        waiting = list(SyncRun.objects.filter(pair=pair, status__in=SyncRun.CLAIMABLE))
        if resume:
            for run in waiting:
                enqueue(run)
    if resume:
        messages.success(request, f"{pair.name} resumed; {len(waiting)} waiting run(s) queued.")
    else:
        messages.success(request, f"{pair.name} paused: no run starts until it is resumed.")
    return redirect("pair-flows", slug=pair.slug)
