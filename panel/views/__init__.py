"""Manager UI views. Each looks its objects up from the organisation of the URL (through
`organisation_view`), calls one service with `run_service`, and renders or redirects.
One module per area; this package exposes the views that ui_urls names."""

from .account import (  # noqa: F401
    account,
    token_list,
    token_revoke,
)
from .activity import (  # noqa: F401
    activity_export,
    activity_list,
)
from .common import describe_jobs, job_label  # noqa: F401
from .home import (  # noqa: F401
    home,
    my_invitation_accept,
    my_invitation_decline,
    my_invitation_list,
    organisation_list,
)
from .jobs import (  # noqa: F401
    job_detail,
    job_download,
    job_list,
    job_state,
    job_status,
)
from .members import (  # noqa: F401
    invitation_resend,
    invitation_revoke,
    member_detail,
    member_grant_create,
    member_grant_delete,
    member_list,
    member_remove,
    member_role,
)
from .organisation import (  # noqa: F401
    organisation_dashboard,
    organisation_delete,
    organisation_settings,
    organisation_transfer,
)
from .teams import (  # noqa: F401
    grant_create,
    grant_delete,
    team_delete,
    team_detail,
    team_list,
    team_member_add,
    team_member_remove,
    team_update,
)
