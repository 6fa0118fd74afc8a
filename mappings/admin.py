"""Django admin for the mapping tables: a fallback for support, not the designer."""

from django.contrib import admin

from mappings.models import CurrencyRate, LookupEntry, LookupTable, Mapping, MappingVersion


class MappingVersionInline(admin.TabularInline):
    model = MappingVersion
    fields = ("number", "note", "author", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Mapping)
class MappingAdmin(admin.ModelAdmin):
    list_display = ("name", "pair", "direction", "source_entity", "target_entity", "updated_at")
    list_filter = ("pair", "direction", "system")
    search_fields = ("name", "source_entity", "target_entity")
    readonly_fields = ("active_version",)
    inlines = [MappingVersionInline]


@admin.register(MappingVersion)
class MappingVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are history; a change is a new version (mappings.versions)."""

    list_display = ("mapping", "number", "note", "author", "created_at")
    list_filter = ("mapping__pair",)
    readonly_fields = ("mapping", "number", "spec", "author", "note", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LookupEntryInline(admin.TabularInline):
    model = LookupEntry
    extra = 1


@admin.register(LookupTable)
class LookupTableAdmin(admin.ModelAdmin):
    list_display = ("name", "pair", "on_miss", "default_value", "updated_at")
    list_filter = ("pair", "on_miss")
    search_fields = ("name", "entries__key")
    inlines = [LookupEntryInline]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    list_display = ("from_currency", "to_currency", "rate", "as_of", "pair")
    list_filter = ("pair", "from_currency", "to_currency")
