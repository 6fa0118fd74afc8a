"""Lookup tables: list (per pair and global), settings, rows edited inline, CSV in and out."""

from typing import Any

from django.contrib import messages
from django.core import signing
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django_htmx.http import retarget

from clarity.permissions import RuleRequiredMixin, needs, reads_writes
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from mappings import lookup_csv
from mappings.forms import LookupEntryForm, LookupImportForm, LookupTableForm
from mappings.models import LookupEntry, LookupTable, Mapping
from mappings.salespeople import fill_salespeople
from mappings.versions import lookup_tables_used

VIEW_TABLE = "mappings.view_lookuptable"
ADD_TABLE = "mappings.add_lookuptable"
# Rows are data an operator fixes while clearing the error queue (an item code Sage does not
# know); a table's settings are configuration, for admins.
CHANGE_ROWS = "mappings.change_lookupentry"
TABLE_RULE = reads_writes(VIEW_TABLE, "mappings.change_lookuptable")
ROW_RULE = reads_writes(VIEW_TABLE, CHANGE_ROWS)
FILL_RULE = needs(ADD_TABLE, CHANGE_ROWS)
IMPORT_SALT = "mappings.lookup-import"
PREVIEW_ROWS = 50  # of each kind of change; the counts say how many in all


class LookupListView(RuleRequiredMixin):
    permission = reads_writes(VIEW_TABLE, ADD_TABLE)

    def get(self, request: HttpRequest) -> HttpResponse:
        tables = LookupTable.objects.annotate(rows=Count("entries")).select_related("pair")
        pairs = IntegrationPair.objects.order_by("name")
        groups = [("Global: every pair", None, [t for t in tables if t.pair_id is None])]
        groups += [(pair.name, pair, [t for t in tables if t.pair_id == pair.pk]) for pair in pairs]
        return render(request, "mappings/lookup_list.html", {"groups": groups})


class LookupCreateView(RuleRequiredMixin):
    permission = needs(ADD_TABLE)

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"pair": request.GET.get("pair")}
        return render(
            request, "mappings/lookup_form.html", {"form": LookupTableForm(initial=initial)}
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LookupTableForm(request.POST)
        if not form.is_valid():
            return render(request, "mappings/lookup_form.html", {"form": form})
        table = form.save()
        messages.success(request, f"Lookup table “{table.name}” created: add its rows.")
        return redirect("lookup-detail", pk=table.pk)


def mappings_using(table: LookupTable) -> list[Mapping]:
    """Mappings whose active version looks values up in this table."""
    mappings = Mapping.objects.filter(active_version__isnull=False).select_related(
        "active_version", "pair"
    )
    if table.pair_id:
        mappings = mappings.filter(pair=table.pair)
    return [m for m in mappings if table.name in lookup_tables_used(m.active_version.spec)]


class LookupDetailView(RuleRequiredMixin):
    """The table's rows (edited in place) and its settings (on-miss behaviour, default)."""

    permission = TABLE_RULE

    def render_page(
        self, request: HttpRequest, table: LookupTable, form: Any = None
    ) -> HttpResponse:
        context = {
            "table": table,
            "entries": table.entries.all(),
            "form": form or LookupTableForm(instance=table),
            "entry_form": LookupEntryForm(table=table),
            "import_form": LookupImportForm(),
            "used_by": mappings_using(table),
            "can_edit": TABLE_RULE.allows(request.user),
            "can_edit_rows": ROW_RULE.allows(request.user),
        }
        return render(request, "mappings/lookup_detail.html", context)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request, get_object_or_404(LookupTable, pk=pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=pk)
        form = LookupTableForm(request.POST, instance=table)
        if not form.is_valid():
            return self.render_page(request, table, form)
        form.save()
        messages.success(request, f"Settings of “{table.name}” saved.")
        return redirect("lookup-detail", pk=table.pk)


class LookupRowAddView(RuleRequiredMixin):
    """htmx: the new row goes on top of the table; a problem shows beside the add form."""

    permission = ROW_RULE

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=pk)
        form = LookupEntryForm(request.POST, table=table)
        if not form.is_valid():
            errors = [error for errors in form.errors.values() for error in errors]
            response = render(request, "mappings/_form_errors.html", {"errors": errors})
            return retarget(response, "#add-row-errors")
        entry = form.save()
        touch(table)
        return render(
            request, "mappings/_lookup_row.html", {"entry": entry, "table": table, "can_edit": True}
        )


def touch(table: LookupTable) -> None:
    table.save(update_fields=["updated_at"])


class LookupRowView(RuleRequiredMixin):
    """GET: the row as text (Cancel); POST: save the inline edit."""

    permission = ROW_RULE

    def get(self, request: HttpRequest, pk: int, entry: int) -> HttpResponse:
        row = get_object_or_404(LookupEntry.objects.select_related("table"), pk=entry, table_id=pk)
        can_edit = ROW_RULE.allows(request.user)
        return render(
            request,
            "mappings/_lookup_row.html",
            {"entry": row, "table": row.table, "can_edit": can_edit},
        )

    def post(self, request: HttpRequest, pk: int, entry: int) -> HttpResponse:
        row = get_object_or_404(LookupEntry.objects.select_related("table"), pk=entry, table_id=pk)
        form = LookupEntryForm(request.POST, instance=row, table=row.table, auto_id=False)
        if not form.is_valid():
            return render(request, "mappings/_lookup_row_form.html", {"entry": row, "form": form})
        form.save()
        touch(row.table)
        return render(
            request,
            "mappings/_lookup_row.html",
            {"entry": row, "table": row.table, "can_edit": True},
        )


class LookupRowEditView(RuleRequiredMixin):
    permission = needs(CHANGE_ROWS)

    def get(self, request: HttpRequest, pk: int, entry: int) -> HttpResponse:
        row = get_object_or_404(LookupEntry.objects.select_related("table"), pk=entry, table_id=pk)
        form = LookupEntryForm(instance=row, table=row.table, auto_id=False)
        return render(request, "mappings/_lookup_row_form.html", {"entry": row, "form": form})


class LookupRowDeleteView(RuleRequiredMixin):
    permission = ROW_RULE

    def post(self, request: HttpRequest, pk: int, entry: int) -> HttpResponse:
        row = get_object_or_404(LookupEntry.objects.select_related("table"), pk=entry, table_id=pk)
        row.delete()
        touch(row.table)
        if request.htmx:
            return HttpResponse("")
        return redirect("lookup-detail", pk=pk)


class LookupImportView(RuleRequiredMixin):
    """Upload: the file's columns are checked and what it would change is shown, nothing
    written. Apply (from that preview): the rows shown are written, carried signed in the
    preview's form, so what is applied is what was seen."""

    permission = ROW_RULE

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=pk)
        if "checked" in request.POST:
            return self.apply(request, table)
        form = LookupImportForm(request.POST, request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("lookup-detail", pk=pk)
        read, replace = form.cleaned_data["file"], form.cleaned_data["replace"]
        checked = signing.dumps(
            {"table": table.pk, "rows": read.rows, "replace": replace},
            salt=IMPORT_SALT,
            compress=True,
        )
        changes = lookup_csv.changes(table, read.rows, replace)
        kinds = {"added": changes.added, "changed": changes.changed, "removed": changes.removed}
        context = {
            "table": table,
            "read": read,
            "replace": replace,
            "changes": changes,
            "more": {kind: max(len(rows) - PREVIEW_ROWS, 0) for kind, rows in kinds.items()},
            "file_name": request.FILES["file"].name,
            "checked": checked,
            "shown": PREVIEW_ROWS,
        }
        return render(request, "mappings/lookup_import_preview.html", context)

    def apply(self, request: HttpRequest, table: LookupTable) -> HttpResponse:
        try:
            checked = signing.loads(request.POST["checked"], salt=IMPORT_SALT, max_age=3600)
        except signing.BadSignature:
            checked = None
        if checked is None or checked["table"] != table.pk:
            messages.error(request, "That preview is too old: import the file again.")
            return redirect("lookup-detail", pk=table.pk)
        rows = [(key, value) for key, value in checked["rows"]]
        done = lookup_csv.apply(table, rows, checked["replace"])
        messages.success(
            request,
            f"Imported {len(rows)} rows: {len(done.added)} added, {len(done.changed)} changed, "
            f"{len(done.removed)} removed.",
        )
        return redirect("lookup-detail", pk=table.pk)


class LookupExportView(RuleRequiredMixin):
    permission = TABLE_RULE

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = slugify(table.name) or "lookup-table"
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        lookup_csv.write_csv(response, table.entries.values_list("key", "value"))
        return response


class FillSalespeopleView(RuleRequiredMixin):
    """Fill the pair's "salespeople" table from the CRM's users and the ERP's salespeople,
    then show what matched and who did not (the systems are asked now)."""

    permission = FILL_RULE

    def post(self, request: HttpRequest, pair: int) -> HttpResponse:
        found = get_object_or_404(IntegrationPair, pk=pair)
        try:
            result = fill_salespeople(found)
        except ConnectorError as error:
            messages.error(
                request,
                f"Could not fill the salespeople of {found.name}: {error}. Check the pair's "
                "connections under Connections, then try again.",
            )
            return redirect(f"{reverse('lookup-list')}#pair-{found.pk}")
        context = {"pair": found, "result": result, "table": result.table}
        return render(request, "mappings/lookup_fill_salespeople.html", context)
