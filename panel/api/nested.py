"""Nested objects of a product's API, written once for every product app.

A nested object is created under its parent (`POST offices/3/forms/`) and then lives at
its own flat URL (`forms/7/`). `ProductScoped.found(kind)` looks up the object named in
the URL once (the app's lookup answers NotFound unless its product is visible);
`managed(kind)` also needs the right to manage that product (403), checked before the
input is, so that bad input reveals nothing to someone who may not act (the services
check again). `Children` and `Detail` are the list/create and read/change/delete views
built on them."""

from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.access import Capability

from .base import OrganisationScoped
from .views import _plain, _valid


def changes_of(serializer_class, data) -> dict:
    """The fields sent in a PATCH, shape-checked; those not sent are left alone."""
    serializer = serializer_class(data=_plain(serializer_class, data), partial=True)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ProductScoped(OrganisationScoped):
    """An app gives `lookup(kind)` (the object named by the URL, or NotFound) and
    `product_of(obj)` (the product whose grants rule it)."""

    def lookup(self, kind: str):
        raise NotImplementedError

    def product_of(self, obj):
        raise NotImplementedError

    def found(self, kind: str):
        cache = self.__dict__.setdefault("_found", {})
        if kind not in cache:
            cache[kind] = self.lookup(kind)
        return cache[kind]

    def managed(self, kind: str):
        obj = self.found(kind)
        self.access.require(Capability.MANAGE_PRODUCT, self.product_of(obj))
        return obj


class Children(generics.ListAPIView):
    """GET lists the `children` of the `parent` in the URL, POST creates one under it and
    answers 201 with it. Mixed after an app's ProductScoped."""

    parent: str
    input_class: type

    def children(self, parent):
        raise NotImplementedError

    def create(self, parent, data):
        raise NotImplementedError

    def render(self, obj) -> dict:
        return self.get_serializer(obj).data

    def get_queryset(self):
        return self.children(self.found(self.parent))

    def post(self, request, org_id, **kwargs):
        parent = self.managed(self.parent)
        data = _valid(self.input_class, request.data)
        created = self.create(parent, data)
        return Response(self.render(created), status=status.HTTP_201_CREATED)


class Detail(APIView):
    """GET, PATCH and DELETE of the object of `kind` named in the URL. Mixed after an
    app's ProductScoped."""

    kind: str
    patch_class: type

    def render(self, obj) -> dict:
        raise NotImplementedError

    def update(self, obj, changes):
        raise NotImplementedError

    def remove(self, obj) -> None:
        raise NotImplementedError

    def get(self, request, org_id, **kwargs):
        return Response(self.render(self.found(self.kind)))

    def patch(self, request, org_id, **kwargs):
        obj = self.managed(self.kind)
        changes = changes_of(self.patch_class, request.data)
        return Response(self.render(self.update(obj, changes)))

    def delete(self, request, org_id, **kwargs):
        self.remove(self.managed(self.kind))
        return Response(status=status.HTTP_204_NO_CONTENT)
