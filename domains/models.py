"""Domains products. This issue only needs the product row; the product's own issue
adds its fields and rules."""

from django.utils.translation import gettext_lazy as _

from panel.products import Product


class Domain(Product):
    class Meta(Product.Meta):
        verbose_name = _("Domain")
