"""Every write of the ticket office. Views, the API, the shop and tasks call these."""

from .catalogue import (  # noqa: F401
    date_create,
    date_delete,
    date_update,
    event_create,
    event_delete,
    event_update,
    tariff_create,
    tariff_delete,
    tariff_update,
    zone_create,
    zone_delete,
    zone_update,
)
from .checkin import (  # noqa: F401
    checkin_list_create,
    checkin_list_delete,
    checkin_list_update,
    scan,
)
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
from .guests import (  # noqa: F401
    guest_answer,
    guest_create,
    guest_delete,
    guest_for,
    guest_for_key,
    guest_list,
    guest_opened,
    guest_update,
    guests_import_csv,
    guests_import_start,
)
from .offices import office_create, office_delete, office_update  # noqa: F401
from .sales import (  # noqa: F401
    SoldOut,
    basket_answers_set,
    basket_create,
    basket_for,
    basket_release,
    basket_tickets,
    checkout,
    date_cancel,
    order_cancel,
    order_for_buyer,
    order_mark_paid,
    order_resend,
    ticket_answers_change,
)
