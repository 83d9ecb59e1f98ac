"""Staff pages of Service Mail in the Django admin: the CSV creation budget of each
organisation, and the imports that count in it."""

from django.contrib import admin

from .models import CreationBudget, CsvImport


@admin.register(CreationBudget)
class CreationBudgetAdmin(admin.ModelAdmin):
    list_display = ("organisation", "addresses_per_day", "unlimited")
    list_editable = ("addresses_per_day", "unlimited")
    search_fields = ("organisation__name",)
    raw_id_fields = ("organisation",)


@admin.register(CsvImport)
class CsvImportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organisation", "service", "file_name", "address_count", "status")
    list_filter = ("status",)
    search_fields = ("organisation__name", "service__domain", "file_name")
    exclude = ("payload",)  # encrypted passwords: never shown
    readonly_fields = (
        "organisation",
        "service",
        "job",
        "file_name",
        "address_count",
        "status",
        "created_at",
    )

    def has_add_permission(self, request):
        return False
