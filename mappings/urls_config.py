"""Settings → Configuration (export and import), linked from the Settings page."""

from django.urls import path

from mappings.views.config_transfer import ConfigExportView, ConfigImportView, ConfigTransferView

urlpatterns = [
    path("settings/configuration/", ConfigTransferView.as_view(), name="config-transfer"),
    path("settings/configuration/export/", ConfigExportView.as_view(), name="config-export"),
    path("settings/configuration/import/", ConfigImportView.as_view(), name="config-import"),
]
