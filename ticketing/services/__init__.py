"""Every write of the ticket office. Views, the API and tasks call these."""

from .forms import (  # noqa: F401
    answers_check,
    field_create,
    field_delete,
    field_update,
    form_create,
    form_delete,
    name_on_ticket,
    ordered_fields,
)
