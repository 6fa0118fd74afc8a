"""The designer's pages (mappings, lookup tables) and Settings → Configuration."""

from django.urls import path

from mappings.views import config_transfer, designer, history, lineage, lookups

urlpatterns = [
    path("mappings/", designer.MappingListView.as_view(), name="mapping-list"),
    path("mappings/<int:pk>/", designer.DesignerView.as_view(), name="mapping-designer"),
    path("mappings/<int:pk>/samples/", designer.SamplesView.as_view(), name="mapping-samples"),
    path("mappings/<int:pk>/preview/", designer.PreviewView.as_view(), name="mapping-preview"),
    path("mappings/<int:pk>/suggest/", designer.SuggestView.as_view(), name="mapping-suggest"),
    path("mappings/<int:pk>/save/", designer.SaveView.as_view(), name="mapping-save"),
    path("mappings/<int:pk>/history/", history.HistoryView.as_view(), name="mapping-history"),
    path(
        "mappings/<int:pk>/restore/<int:number>/",
        history.RestoreView.as_view(),
        name="mapping-restore",
    ),
    path("mappings/lineage/<slug:slug>/", lineage.LineageView.as_view(), name="mapping-lineage"),
    path("lookups/", lookups.LookupListView.as_view(), name="lookup-list"),
    path("lookups/new/", lookups.LookupCreateView.as_view(), name="lookup-create"),
    path(
        "lookups/fill-salespeople/<int:pair>/",
        lookups.FillSalespeopleView.as_view(),
        name="lookup-fill-salespeople",
    ),
    path("lookups/<int:pk>/", lookups.LookupDetailView.as_view(), name="lookup-detail"),
    path("lookups/<int:pk>/rows/", lookups.LookupRowAddView.as_view(), name="lookup-row-add"),
    path("lookups/<int:pk>/rows/<int:entry>/", lookups.LookupRowView.as_view(), name="lookup-row"),
    path(
        "lookups/<int:pk>/rows/<int:entry>/edit/",
        lookups.LookupRowEditView.as_view(),
        name="lookup-row-edit",
    ),
    path(
        "lookups/<int:pk>/rows/<int:entry>/delete/",
        lookups.LookupRowDeleteView.as_view(),
        name="lookup-row-delete",
    ),
    path("lookups/<int:pk>/import/", lookups.LookupImportView.as_view(), name="lookup-import"),
    path("lookups/<int:pk>/export.csv", lookups.LookupExportView.as_view(), name="lookup-export"),
    path(
        "settings/configuration/",
        config_transfer.ConfigTransferView.as_view(),
        name="config-transfer",
    ),
    path(
        "settings/configuration/export/",
        config_transfer.ConfigExportView.as_view(),
        name="config-export",
    ),
    path(
        "settings/configuration/import/",
        config_transfer.ConfigImportView.as_view(),
        name="config-import",
    ),
]
