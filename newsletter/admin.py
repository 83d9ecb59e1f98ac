"""Staff pages of the Newsletter in the Django admin: each newsletter's plan and its
hourly sending quota, which staff may override for one account (a customer's written
request, or 0 to stop an account that sends abuse)."""

from django.contrib import admin

from .models import Campaign, Newsletter
from .throttle import Throttle


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "plan", "hourly_quota_override", "created_at")
    list_editable = ("plan", "hourly_quota_override")
    list_filter = ("plan",)
    search_fields = ("name", "organisation__name")
    raw_id_fields = ("organisation",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The account's bucket is refilled with the new quota at its next send.
        Throttle().reset(obj.organisation_id)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("title", "organisation", "status", "scheduled_at", "started_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("title", "organisation__name")
    fields = ("title", "organisation", "newsletter", "status", "scheduled_at", "started_at",
              "finished_at")  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
