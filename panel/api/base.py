"""The one way into an organisation for the API.

`OrganisationScoped` resolves `<org_id>` from the URL, answers 404 to anyone without
access, then checks the view's capability (403) and the token scope. Views then reach
objects only through `self.organisation`. `confirm_name` reads the name typed to confirm
a product delete, the same way for every product.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers

from panel.access import Capability, access_by_id
from panel.activity import set_via
from panel.errors import InvalidInput
from panel.models import Via

#: the largest value an integer column holds (PostgreSQL `integer`): every integer the API
#: takes is bounded by it or less, so no input reaches the database out of range
DB_INT_MAX = 2**31 - 1


def checked_by(rule):
    """A serializer validator running a service rule (`rule(value)` raising InvalidInput):
    a field the service would refuse is reported with the other fields' problems in the
    same 400, not in a second answer once they are fixed. The service checks again."""

    def validate(value):
        try:
            rule(value)
        except InvalidInput as error:
            messages = [m for field in error.fields.values() for m in field]
            raise serializers.ValidationError(messages or [str(error.detail)]) from None

    return validate


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField turns a JSON number or boolean into its
    digits, so `{"name": 123}` would pass as "123". Input serializers use this one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApiEntry:
    """Marks actions arriving through the API in the activity log."""

    def initial(self, request, *args, **kwargs):
        set_via(Via.API)
        super().initial(request, *args, **kwargs)


class OrganisationScoped(ApiEntry):
    capability: Capability = Capability.VIEW_ORGANISATION
    write_capability: Capability | None = None

    def check_permissions(self, request):
        # Authentication first (401), then visibility (404), then capability and scope (403).
        if request.user and request.user.is_authenticated:
            self.access = access_by_id(request.user, self.kwargs["org_id"])
            self.organisation = self.access.organisation
            request.organisation = self.organisation
        super().check_permissions(request)
        writing = request.method not in permissions.SAFE_METHODS
        self.access.require(
            self.write_capability if writing and self.write_capability else self.capability
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["organisation"] = getattr(self, "organisation", None)
        return context


def confirm_name(request, serializer_class) -> str:
    """The name typed to confirm a delete, shape-checked by `serializer_class`: from the
    body, else from the `confirm_name` query parameter, since many HTTP clients cannot
    send a body with DELETE. Blank when neither has it; the service compares it."""
    data = request.data if hasattr(request.data, "get") else {}
    if "confirm_name" not in data and "confirm_name" in request.query_params:
        data = {"confirm_name": request.query_params["confirm_name"]}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("confirm_name", "")


def confirm_name_parameter(serializer_class) -> OpenApiParameter:
    """The `confirm_name` query parameter of a delete, described as its body field is."""
    return OpenApiParameter(
        "confirm_name",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description=serializer_class().fields["confirm_name"].help_text or "",
    )
