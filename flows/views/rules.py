"""The rules editor of one flow of a pair: rows of selects and inputs, one rule each
(conditions → one action), added, removed and moved with buttons, saved as a new version
with a comment; the version history; and a preview of the rules on the pair's last deals.

The whole editor is one plain form. Each button posts it with what to do (`do`): the rules
are read back from the posted fields, changed, and the editor is drawn again (htmx swaps it
in place; without JavaScript the page reloads). Nothing is saved until "Save". Integration
admins edit; operators and viewers see the rules, the history and the preview of the saved
rules (GET `?preview=1`)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from clarity.permissions import Rule, RuleRequiredMixin
from flows.models import FlowConfig
from flows.registry import FLOWS
from flows.rules import (
    ACTION_KEYS,
    ACTIONS,
    CONDITION_KEYS,
    FIELDS,
    HOLD,
    MATCHES,
    NAMED_FIELDS,
    OPERATORS,
    REQUIRE_APPROVAL,
    ROUTE,
    SET_FIELD,
    SETTABLE,
    SKIP,
    TASK,
    RulesInvalid,
    blank_condition,
    blank_rule,
    describe,
)
from flows.rules_preview import preview_rules
from flows.rules_versions import current_rules, current_version, route_targets, save_rules

RULES_RULE = Rule(
    read=("flows.view_flowconfig",),
    write=("flows.view_flowconfig", "flows.change_flowconfig"),
    message="Only integration admins change a flow's rules.",
)
MAX_POSTED = 50  # rules or conditions read back from one post
# Which choice each optional input applies to, for static/js/rules.js to show only those: the
# condition's field name for a document or deal field, the reason or task text for the
# actions that read it (flows.rules.action_problem), the field and value to set for "Set a
# field", the flow for "Route". Every input is always posted, so the form works without JS.
SHOWN_FOR = {
    "name": " ".join(sorted(NAMED_FIELDS)),
    "text": " ".join((REQUIRE_APPROVAL, HOLD, SKIP, TASK)),
    "set": SET_FIELD,
    "flow": ROUTE,
}


def flow_config_or_404(slug: str, flow: str) -> FlowConfig:
    return get_object_or_404(FlowConfig.objects.select_related("pair"), pair__slug=slug, flow=flow)


def count(data: QueryDict, name: str) -> int:
    try:
        return min(max(int(data.get(name, 0)), 0), MAX_POSTED)
    except ValueError:
        return 0


def posted_rules(data: QueryDict) -> list[dict[str, Any]]:
    """The rules as the editor's fields hold them (r0-name, r0-c1-op, r0-a-kind, …)."""
    rules = []
    for i in range(count(data, "rules")):
        prefix = f"r{i}-"
        rules.append(
            {
                "name": data.get(f"{prefix}name", ""),
                "match": data.get(f"{prefix}match", "all"),
                "conditions": [
                    {key: data.get(f"{prefix}c{j}-{key}", "") for key in CONDITION_KEYS}
                    for j in range(count(data, f"{prefix}conditions"))
                ],
                "action": {key: data.get(f"{prefix}a-{key}", "") for key in ACTION_KEYS},
            }
        )
    return rules


def edited(rules: list[dict[str, Any]], do: str) -> list[dict[str, Any]]:
    """The rules after an editing button: add, remove-2, up-2, down-2, add-cond-2,
    remove-cond-2-0."""
    verb, *numbers = do.rsplit("-", 2) if do.startswith("remove-cond") else do.rsplit("-", 1)
    try:
        at = [int(number) for number in numbers]
    except ValueError:
        return rules
    in_range = bool(at) and 0 <= at[0] < len(rules)
    if verb == "add":
        rules.append(blank_rule())
    elif verb == "remove" and in_range:
        rules.pop(at[0])
    elif verb in ("up", "down") and in_range:
        other = at[0] - 1 if verb == "up" else at[0] + 1
        if 0 <= other < len(rules):
            rules[at[0]], rules[other] = rules[other], rules[at[0]]
    elif verb == "add-cond" and in_range:
        rules[at[0]]["conditions"].append(blank_condition())
    elif verb == "remove-cond" and in_range and len(at) == 2:
        conditions = rules[at[0]]["conditions"]
        if 0 <= at[1] < len(conditions):
            conditions.pop(at[1])
    return rules


class FlowRulesView(RuleRequiredMixin, View):
    permission = RULES_RULE

    def get(self, request: HttpRequest, slug: str, flow: str) -> HttpResponse:
        config = flow_config_or_404(slug, flow)
        rules, comment = current_rules(config), ""
        number = request.GET.get("version", "")
        restored = (
            config.rule_versions.filter(number=int(number)).first() if number.isdigit() else None
        )
        if restored:  # an old version loaded into the editor; saving it makes it current
            rules, comment = list(restored.rules), f"Restore version {restored.number}"
        preview = preview_rules(config, rules) if request.GET.get("preview") and rules else None
        return self.show(request, config, rules, comment, preview=preview)

    def post(self, request: HttpRequest, slug: str, flow: str) -> HttpResponse:
        config = flow_config_or_404(slug, flow)
        rules = posted_rules(request.POST)
        do = request.POST.get("do", "")
        comment = request.POST.get("comment", "")
        if do == "save":
            try:
                version = save_rules(config, rules, request.user, comment)
            except RulesInvalid as exc:
                return self.show(request, config, rules, comment, problems=exc.problems, status=400)
            messages.success(request, f"Rules saved as version {version.number}.")
            return redirect("flow-rules", slug=slug, flow=flow)
        if do == "preview":
            return self.show(request, config, rules, comment, preview=preview_rules(config, rules))
        return self.show(request, config, edited(rules, do), comment)

    def show(
        self,
        request: HttpRequest,
        config: FlowConfig,
        rules: list[dict[str, Any]],
        comment: str = "",
        problems: list[str] | None = None,
        preview: Any = None,
        status: int = 200,
    ) -> HttpResponse:
        targets = route_targets(config)
        labels = {name: flow.label for name, flow in FLOWS.items()}
        context = {
            "pair": config.pair,
            "config": config,
            "flow": FLOWS.get(config.flow),
            "rules": rules,
            "rows": [{"rule": rule, "text": describe(rule, labels)} for rule in rules],
            "comment": comment,
            "problems": problems or [],
            "preview": preview,
            "sentences": preview.sentences(rules) if preview else [],
            "version": current_version(config),
            "versions": config.rule_versions.select_related("author")[:20],
            "can_change": RULES_RULE.allows(request.user),
            "fields": FIELDS,
            "operators": OPERATORS,
            "matches": MATCHES,
            "actions": ACTIONS,
            "settable": SETTABLE,
            "targets": targets,
            "shown_for": SHOWN_FOR,
        }
        return render(request, "flows/rules.html", context, status=status)
