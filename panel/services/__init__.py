"""Every write of the tenancy core. Views, the API, commands and tasks call these.

Each service takes the acting person (`actor`) keyword-only, checks the capability with
`panel.access`, validates, writes in one transaction and records an activity event.

One module per area; callers use `panel.services.<name>`.
"""

from .exports import (  # noqa: F401
    activity_export_start,
)
from .invitations import (  # noqa: F401
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_resend,
    invitation_revoke,
)
from .members import (  # noqa: F401
    ensure_removable,
    membership_change_role,
    membership_remove,
)
from .organisations import (  # noqa: F401
    legal_representative_transfer,
    organisation_create,
    organisation_delete,
    organisation_rename,
)
from .teams import (  # noqa: F401
    grant_create,
    grant_delete,
    product_grants_delete,
    team_create,
    team_delete,
    team_member_remove,
    team_members_add,
    team_people_add,
    team_update,
)
from .tokens import (  # noqa: F401
    token_create,
    token_revoke,
)
