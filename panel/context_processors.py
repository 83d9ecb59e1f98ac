"""Template context of the Manager shell: the organisation switcher, the navigation the
person may use, the Jobs menu and the count of pending invitations."""

from django.utils.functional import SimpleLazyObject, cached_property

from . import selectors
from .access import Capability, organisations_of

JOBS_MENU_SIZE = 8
# The navigation entry each page belongs to, by the start of its URL name.
SECTIONS = [
    ("organisation-dashboard", "dashboard"),
    ("organisation-", "settings"),
    ("member-", "members"),
    ("invitation-", "members"),
    ("team-", "teams"),
    ("grant-", "teams"),
    ("activity-", "activity"),
    ("job-", "jobs"),
]


#: Product apps whose pages all belong to one navigation entry, by URL namespace.
PRODUCT_SECTIONS = {
    "mail": "mail",
    "domains": "domains",
    "ticketing": "ticketing",
    "newsletter": "newsletter",
}


def section_of(url_name: str | None, namespace: str | None = None) -> str:
    if namespace in PRODUCT_SECTIONS:
        return PRODUCT_SECTIONS[namespace]
    name = url_name or ""
    return next((section for prefix, section in SECTIONS if name.startswith(prefix)), "")


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context = {
        # Lazy: pages that do not show the top bar (errors, emails) run no query.
        "my_organisations": SimpleLazyObject(
            lambda: list(organisations_of(user).order_by("name", "id"))
        ),
        "pending_invitation_count": SimpleLazyObject(
            lambda: selectors.my_invitations(user=user).count()
        ),
    }
    access = getattr(request, "access", None)
    organisation = getattr(request, "organisation", None)
    if access is not None and organisation is not None:
        context.update(
            current_organisation=organisation,
            current_access=access,
            section=section_of(
                getattr(request.resolver_match, "url_name", None),
                getattr(request.resolver_match, "namespace", None),
            ),
            nav={
                "members": access.can(Capability.MANAGE_MEMBERS),
                "teams": access.can(Capability.MANAGE_TEAMS),
                "activity": access.can(Capability.VIEW_ACTIVITY),
                "settings": access.can(Capability.CHANGE_ORGANISATION),
            },
            jobs_menu=JobsMenu(access),
        )
    return context


class JobsMenu:
    """Running and recent Jobs of the current organisation, read on first use."""

    def __init__(self, access):
        self.access = access

    @cached_property
    def jobs(self):
        from .views import describe_jobs

        return describe_jobs(list(selectors.job_list(access=self.access)[:JOBS_MENU_SIZE]))

    @cached_property
    def active_count(self) -> int:
        return sum(1 for job in self.jobs if not job.is_finished)
