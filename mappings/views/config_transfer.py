"""Settings → Configuration: export chosen pairs as JSON; import one, see the diff, apply.

The uploaded file travels back with the Apply button (a hidden field, posted as
multipart so its size is what Django's DATA_UPLOAD_MAX_MEMORY_SIZE measures), and is planned
again there, so what gets applied is always measured against the database as it is then.
Both steps check the file strictly (`mappings.config_checks`) and plan it for the user
asking, so a section they may not write (flow settings) is skipped and said so.
"""

import json
from itertools import groupby

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from clarity.permissions import RuleRequiredMixin, needs
from connectors.models import IntegrationPair
from mappings.config_checks import MAX_BYTES
from mappings.config_plans import ImportPlan
from mappings.config_transfer import (
    ConfigError,
    apply_plan,
    dumps,
    export_config,
    load,
    origin_of,
    pairs_by_slug,
    plan_import,
)
from mappings.views.common import VIEW_MAPPING

IMPORT_PERMISSIONS = ("mappings.add_mappingversion", "mappings.change_lookuptable",
                      "mappings.change_currencyrate")  # fmt: skip
MAX_FILENAME = 100
TEMPLATE = "mappings/config_transfer.html"


class ConfigTransferView(RuleRequiredMixin):
    """The page: pairs to export, and a file to import."""

    permission = needs(VIEW_MAPPING)

    def get(self, request: HttpRequest) -> HttpResponse:
        pairs = IntegrationPair.objects.select_related("crm", "erp").order_by("name")
        return render(request, TEMPLATE, {"pairs": pairs})


class ConfigExportView(RuleRequiredMixin):
    permission = needs(VIEW_MAPPING)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            pairs = pairs_by_slug(request.GET.getlist("pair"))
        except ConfigError as exc:
            messages.error(request, str(exc))
            return redirect("config-transfer")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(dumps(export_config(pairs)), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="clarity-config-{stamp}.json"'
        return response


class ConfigImportView(RuleRequiredMixin):
    """POST a file: the diff. POST the diff's Apply: the new versions, tables and rates."""

    permission = needs(*IMPORT_PERMISSIONS)

    def post(self, request: HttpRequest) -> HttpResponse:
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > MAX_BYTES:
                megabytes = MAX_BYTES // (1024 * 1024)
                return self.fail(
                    request, f"The file is larger than {megabytes} MB: is it an export?"
                )
            text, filename = upload.read(), upload.name
        else:
            text, filename = request.POST.get("document", ""), request.POST.get("filename", "")
        filename = filename[:MAX_FILENAME]
        if not text:
            return self.fail(request, "Choose a file exported from Clarity Connect.")
        try:
            document = load(text)
            origin = origin_of(document, filename or "an upload")
            plan = plan_import(document, origin, request.user)
        except ConfigError as exc:
            return self.fail(request, str(exc))
        if "apply" not in request.POST:
            compact = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            context = {"plan": plan, "document": compact, "filename": filename}
            return render(request, TEMPLATE, context)
        try:
            apply_plan(plan, request.user)
        except ConfigError as exc:
            return self.fail(request, str(exc))
        changed = [m for m in plan.mappings if m.status in ("new", "changed")]
        messages.success(
            request,
            f"Imported: {len(changed)} mapping(s) saved as new versions, "
            f"{sum(t.status != 'unchanged' for t in plan.tables)} lookup table(s) and "
            f"{len(plan.rates)} rate(s) updated{skipped_sentence(plan)}.",
        )
        return redirect("config-transfer")

    def fail(self, request: HttpRequest, message: str) -> HttpResponse:
        messages.error(request, message)
        return redirect("config-transfer")


def skipped_sentence(plan: ImportPlan) -> str:
    """ "; flow settings of 2 pair(s) skipped (why)", or "" when nothing was skipped."""
    parts = []
    for title, sections in groupby(plan.skipped, key=lambda section: section.title):
        found = list(sections)
        parts.append(f"{title.lower()} of {len(found)} pair(s) skipped ({found[0].skipped})")
    return "".join(f"; {part}" for part in parts)
