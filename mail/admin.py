"""Staff pages of Service Mail in the Django admin: the CSV creation budget of each
organisation, and the imports that count in it."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import CreationBudget, CsvImport, MailService


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


@admin.register(MailService)
class MailServiceAdmin(admin.ModelAdmin):
    list_display = ("domain", "organisation", "plan", "address_quota", "created_at")
    list_filter = ("plan",)
    search_fields = ("domain", "organisation__name")
    raw_id_fields = ("organisation",)
    actions = ["back_up_now"]

    @admin.action(description=_("Back up the mailboxes of these services now"))
    def back_up_now(self, request, queryset):
        from .tasks import back_up_service_task

        for service in queryset:
            back_up_service_task.delay(service.pk)
        self.message_user(
            request,
            _("Backups of %(n)d service(s) queued.") % {"n": queryset.count()},
            messages.SUCCESS,
        )
