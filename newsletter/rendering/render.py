"""One campaign email for one recipient: variables filled in (values escaped), blocks to
MJML in the theme, mrml to responsive HTML, css-inline, links with UTM parameters and the
caller's rewrite, and a plain-text part written from the same filled-in blocks."""

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import css_inline
import mrml
from django.utils import translation
from django.utils.translation import gettext as _

from panel.errors import InvalidInput

from . import blocks as schema
from .links import rewrite_links
from .mjml import document
from .plaintext import text_document, text_part
from .themes import THEMES, Theme, theme_for
from .variables import BUILTINS, TemplateError, names_in, render_string

#: Media queries (columns side by side on a desktop) cannot be inlined; they stay.
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
#: No web fonts (an email that calls a font host on each opening), no mj-include.
MRML_RENDER = mrml.RenderOptions(fonts={})
MRML_PARSER = mrml.ParserOptions(include_loader=mrml.noop_loader())
#: Keeps the mail program from showing the first words of the body after the preheader.
PREHEADER_FILL = "\u034f\u00a0" * 40


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class _Filler:
    """Writes the variables into a cleaned content, noting each mistake by its path."""

    def __init__(self, variables: dict):
        self.variables = variables
        self.fields: dict[str, list[str]] = {}

    def render(self, path: str, text: str, *, as_html: bool = False) -> str:
        try:
            return render_string(text, self.variables, as_html=as_html)
        except TemplateError as error:
            self.fields.setdefault(path, []).append(_message(error, set(self.variables)))
            return ""

    def url(self, path: str, text: str, schemes=schema.LINK) -> str:
        value = self.render(path, text).strip()
        # A contact's value that makes no link leaves the words without one.
        return value if value and schema.is_url(value, schemes=schemes, variables=False) else ""

    def blocks(self, blocks: list, path: str) -> list:
        filled = []
        for index, block in enumerate(blocks):
            where = f"{path}.{index}"
            kind = block["type"]
            block = dict(block)
            if kind == "heading":
                block["text"] = self.render(f"{where}.text", block["text"])
            elif kind in schema.SANITISERS:
                html = self.render(f"{where}.html", block["html"], as_html=True)
                block["html"] = schema.SANITISERS[kind](html, variables=False)
            elif kind == "image":
                block["src"] = self.url(f"{where}.src", block["src"], schemes=schema.WEB)
                block["alt"] = self.render(f"{where}.alt", block["alt"])
                block["href"] = self.url(f"{where}.href", block["href"])
                if not block["src"]:
                    continue
            elif kind == "button":
                block["label"] = self.render(f"{where}.label", block["label"])
                block["href"] = self.url(f"{where}.href", block["href"])
            elif kind == "social":
                block["links"] = [
                    {**link, "href": self.url(f"{where}.links.{number}.href", link["href"])}
                    for number, link in enumerate(block["links"])
                ]
            elif kind == "columns":
                block["columns"] = [
                    {"blocks": self.blocks(column["blocks"], f"{where}.columns.{number}.blocks")}
                    for number, column in enumerate(block["columns"])
                ]
            filled.append(block)
        return filled


def _message(error: TemplateError, known: set[str]) -> str:
    name = error.message.removesuffix(" is undefined").strip("'")
    if error.message.endswith("is undefined"):
        return _unknown(name.split(".")[0], known)
    return _("This text has a mistake in its variables: %(error)s.") % {"error": error.message}


def _unknown(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return _("There is no variable “%(name)s”; did you mean “%(close)s”?") % {
            "name": name,
            "close": close[0],
        }
    return _("There is no variable “%(name)s”.") % {"name": name}


def _links_line(unsubscribe_url: str, preferences_url: str) -> str:
    return (
        f'<p><a href="{escape(unsubscribe_url)}">{escape(_("Unsubscribe"))}</a>'
        " &nbsp;·&nbsp; "
        f'<a href="{escape(preferences_url)}">'
        f"{escape(_('Update your preferences'))}</a></p>"
    )


def render_email(
    *,
    content: dict,
    theme: str | Theme,
    variables: dict,
    preview_text: str = "",
    title: str = "",
    unsubscribe_url: str,
    preferences_url: str,
    utm: dict | None = None,
    rewrite_link: Callable[[str], str] | None = None,
    language: str = "en",
) -> Rendered:
    """The email as one recipient gets it. `variables` are the contact's values by key
    (and `email`); the link variables come from the two URLs. `rewrite_link(url)` is
    called once for each web address after its UTM parameters, never on the unsubscribe
    and preferences links. InvalidInput by field path for a broken content or a variable
    that is not in `variables`."""
    theme = theme if isinstance(theme, Theme) else theme_for(theme or next(iter(THEMES)))
    values = {**variables, "unsubscribe_url": unsubscribe_url, "preferences_url": preferences_url}
    filler = _Filler(values)
    blocks = filler.blocks(schema.clean_content(content)["blocks"], "content.blocks")
    subject = " ".join(filler.render("title", title or "").split())
    preheader = " ".join(filler.render("preview_text", preview_text or "").split())
    if filler.fields:
        raise InvalidInput(fields=filler.fields)
    # The recipient's language for the words the renderer adds; errors stay the reader's.
    with translation.override(language):
        links_html = _links_line(unsubscribe_url, preferences_url)
        mjml = document(
            blocks=blocks,
            styles=theme.styles,
            subject=subject,
            preheader=preheader + PREHEADER_FILL if preheader else "",
            language=language,
            links_html=links_html,
        )
        plain = text_document(blocks, links_html)
    output = mrml.to_html(mjml, parser_options=MRML_PARSER, render_options=MRML_RENDER)
    links = {
        "keep": {unsubscribe_url, preferences_url},
        "utm": utm,
        # Each address once, though it shows in both parts.
        "rewrite_link": functools.cache(rewrite_link) if rewrite_link else None,
    }
    html = rewrite_links(INLINER.inline(output.content), **links)
    text = text_part(rewrite_links(plain, **links))
    return Rendered(subject=subject, html=html, text=text)


def problems(*, content: dict, title: str, preview_text: str, known_keys: set[str]) -> list[dict]:
    """Each `{field, message}` that would break the email: an unknown variable (the
    built-ins are always known), a mistake in Liquid, a block that is not valid."""
    found = []
    try:
        content = schema.clean_content(content)
    except InvalidInput as error:
        found += [
            {"field": field, "message": message}
            for field, messages in error.fields.items()
            for message in messages
        ]
    known = set(known_keys) | BUILTINS
    texts = [("title", title or "", "plain"), ("preview_text", preview_text or "", "plain")]
    for field, text, kind in [*texts, *schema.block_texts(content)]:
        try:
            names = names_in(text, as_html=kind == "html")
        except TemplateError as error:
            found.append({"field": field, "message": _message(error, known)})
            continue
        found += [
            {"field": field, "message": _unknown(name, known)} for name in sorted(names - known)
        ]
    return found
