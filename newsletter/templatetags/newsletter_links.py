"""The public links of a list, for the Manager's pages: `{% list_form_url contact_list %}`
and `{% list_embed_snippet contact_list %}` (newsletter/links.py)."""

from django import template

from .. import links

register = template.Library()


@register.simple_tag
def list_form_url(contact_list) -> str:
    return links.form_url(contact_list)


@register.simple_tag
def list_embed_snippet(contact_list) -> str:
    return links.embed_snippet(contact_list)
