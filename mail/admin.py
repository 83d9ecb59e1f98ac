"""Staff pages of Service Mail in the Django admin: the CSV creation budget of each
organisation and the imports that count in it, the services, and each address's outgoing
limit (raised on a customer's written request, or 0 to stop a hijacked account)."""

from django.conf import settings
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import Address, CreationBudget, CsvImport, MailService


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


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Only the outgoing limit is changed here; everything else belongs to the customer."""

    list_display = ("__str__", "organisation", "kind", "outgoing_limit_override", "created_at")
    list_filter = ("kind", "service__plan")
    search_fields = ("local_part", "service__domain", "organisation__name")
    list_select_related = ("service", "organisation")
    fields = ("organisation", "service", "local_part", "kind", "created_at",
              "outgoing_limit_override")  # fmt: skip
    readonly_fields = ("organisation", "service", "local_part", "kind", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "outgoing_limit_override" in form.changed_data:
            self.message_user(
                request,
                _("The policy service applies the new limit within %(seconds)s seconds.")
                % {"seconds": settings.MAIL_POLICY_LIMIT_CACHE_SECONDS},
                messages.INFO,
            )
