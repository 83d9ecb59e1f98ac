"""URLs of the Newsletter API, included under /api/v1/organisations/<org_id>/newsletter/
in the "api" namespace. A nested object is created under its parent and then lives at
its own flat URL: `POST newsletters/3/lists/` creates list 9, which is then at `lists/9/`.
(A field's id is `contact_field_id` in the URL, apart from the ticket office's
`field_id`.)"""

from django.urls import path

from . import campaigns, contacts, reports, senders, sending
from . import views as v

newsletter = "newsletters/<int:newsletter_id>/"
contact_list = "lists/<int:list_id>/"
campaign = "campaigns/<int:campaign_id>/"

urlpatterns = [
    path("newsletters/", v.NewslettersView.as_view(), name="newsletter-newsletter-list"),
    path(newsletter, v.NewsletterView.as_view(), name="newsletter-newsletter-detail"),
    path(newsletter + "fields/", v.FieldsView.as_view(), name="newsletter-field-list"),
    path("fields/<int:contact_field_id>/", v.FieldView.as_view(), name="newsletter-field-detail"),
    path(newsletter + "lists/", v.ListsView.as_view(), name="newsletter-list-list"),
    path(contact_list, v.ListView.as_view(), name="newsletter-list-detail"),
    path(contact_list + "groups/", v.GroupsView.as_view(), name="newsletter-group-list"),
    path("groups/<int:group_id>/", v.GroupView.as_view(), name="newsletter-group-detail"),
    path(newsletter + "contacts/", contacts.ContactsView.as_view(), name="newsletter-contact-list"),
    path(
        "contacts/<int:contact_id>/",
        contacts.ContactView.as_view(),
        name="newsletter-contact-detail",
    ),
    path("themes/", campaigns.ThemesView.as_view(), name="newsletter-theme-list"),
    path(
        newsletter + "campaigns/",
        campaigns.CampaignsView.as_view(),
        name="newsletter-campaign-list",
    ),
    path(campaign, campaigns.CampaignView.as_view(), name="newsletter-campaign-detail"),
    path(
        campaign + "recipients/count/",
        campaigns.RecipientCountView.as_view(),
        name="newsletter-campaign-recipient-count",
    ),
    path(
        campaign + "preview/", campaigns.PreviewView.as_view(), name="newsletter-campaign-preview"
    ),
    path(campaign + "test/", campaigns.TestSendView.as_view(), name="newsletter-campaign-test"),
    path(
        campaign + "schedule/",
        campaigns.ScheduleView.as_view(),
        name="newsletter-campaign-schedule",
    ),
    *[
        path(prefix + "send/", sending.SendView.as_view(), name=f"newsletter-campaign{tag}-send")
        for prefix, tag in ((campaign, ""), (newsletter + campaign, "-nested"))
    ],
    *[
        path(prefix + act + "/", view.as_view(), name=f"newsletter-campaign{tag}-{act}")
        for prefix, tag in ((campaign, ""), (newsletter + campaign, "-nested"))
        for act, view in (
            ("pause", sending.PauseView),
            ("resume", sending.ResumeView),
            ("cancel", sending.CancelView),
        )
    ],
    path(
        newsletter + campaign,
        sending.NestedCampaignView.as_view(),
        name="newsletter-campaign-nested-detail",
    ),  # fmt: skip
    path("quota/", sending.QuotaView.as_view(), name="newsletter-quota"),
    *reports.urlpatterns,
    path(
        newsletter + "templates/",
        campaigns.TemplatesView.as_view(),
        name="newsletter-template-list",
    ),
    path(
        "templates/<int:template_id>/",
        campaigns.TemplateView.as_view(),
        name="newsletter-template-detail",
    ),
    path(newsletter + "senders/", senders.SendersView.as_view(), name="newsletter-sender-list"),
    path("senders/<int:sender_id>/", senders.SenderView.as_view(), name="newsletter-sender-detail"),
    path(
        "senders/<int:sender_id>/verification/",
        senders.SenderVerificationView.as_view(),
        name="newsletter-sender-verification",
    ),
]
