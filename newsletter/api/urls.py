"""URLs of the Newsletter API, included under /api/v1/organisations/<org_id>/newsletter/
in the "api" namespace. A nested object is created under its parent and then lives at
its own flat URL: `POST newsletters/3/lists/` creates list 9, which is then at `lists/9/`.
(A field's id is `contact_field_id` in the URL, apart from the ticket office's
`field_id`.)"""

from django.urls import path

from . import contacts
from . import views as v

newsletter = "newsletters/<int:newsletter_id>/"
contact_list = "lists/<int:list_id>/"

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
]
