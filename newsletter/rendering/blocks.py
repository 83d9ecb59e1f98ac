"""The block schema of campaign and template content (`{"blocks": [...]}`), checked whole so
that the editor can show every problem at once, and the HTML of text, footer and raw HTML
blocks sanitised with nh3 when it is saved and again once variables are in it."""

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import nh3
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from panel.errors import InvalidInput

TYPES = (
    "heading",
    "text",
    "image",
    "button",
    "divider",
    "spacer",
    "columns",
    "social",
    "footer",
    "html",
)
NETWORKS = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "x": "X",
    "youtube": "YouTube",
    "mastodon": "Mastodon",
    "website": gettext_lazy("Website"),
}
ALIGNS = ("left", "center", "right")
LEVELS = (1, 2, 3)
MAX_BLOCKS = 200
MAX_LINKS = 10
LIMITS = {"text": 300, "label": 120, "alt": 300, "url": 2000, "html": 100_000}
IMAGE_WIDTH = (20, 600)
SPACER_HEIGHT = (4, 200)

TEXT_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "a", "ul", "ol", "li"}
HTML_TAGS = nh3.ALLOWED_TAGS | {"tfoot"}
_TABLE_ATTRIBUTES = {"width", "bgcolor", "border", "cellpadding", "cellspacing", "valign"}
HTML_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    **{
        tag: set(nh3.ALLOWED_ATTRIBUTES.get(tag, ())) | _TABLE_ATTRIBUTES
        for tag in ("table", "td", "th", "tr")
    },
}
#: `{{ unsubscribe_url }}` and the like: a whole link that a variable gives.
LINK_VARIABLE = re.compile(r"^\{\{\s*[A-Za-z_]\w*\s*\}\}$")
WEB = ("http", "https")
LINK = ("http", "https", "mailto")


def is_url(value: str, *, schemes=LINK, variables: bool = True) -> bool:
    """An absolute web or mailto address (or, before rendering, a link variable); never
    javascript:, data: or a relative address, which mean nothing in a mailbox."""
    value = value.strip()
    if variables and LINK_VARIABLE.match(value):
        return True
    if any(char in value for char in '<>"\n\r\t') or (not variables and " " in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return False
    return bool(parts.netloc) if scheme in WEB else bool(parts.path)


def _attribute_filter(variables: bool):
    def keep(tag, attribute, value):
        if attribute == "href":
            return value if is_url(value, variables=variables) else None
        if attribute == "src":
            return value if is_url(value, schemes=WEB, variables=variables) else None
        return value

    return keep


def sanitise_text(html: str, *, variables: bool = True) -> str:
    """Inline HTML of the editor: paragraphs, emphasis, lists and links only."""
    return nh3.clean(
        html,
        tags=TEXT_TAGS,
        attributes={"a": {"href"}},
        attribute_filter=_attribute_filter(variables),
        url_schemes=set(LINK),
        link_rel=None,
    )


def sanitise_html(html: str, *, variables: bool = True) -> str:
    """Raw HTML: nh3's tags and tables, no scripts, handlers or styles."""
    return nh3.clean(
        html,
        tags=HTML_TAGS,
        attributes=HTML_ATTRIBUTES,
        attribute_filter=_attribute_filter(variables),
        url_schemes=set(LINK),
        link_rel=None,
    )


SANITISERS = {"text": sanitise_text, "footer": sanitise_text, "html": sanitise_html}


class _Checker:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(str(message))

    def text(self, block, key, path, *, required=False, limit="text", default=""):
        value = block.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, str):
            self.add(f"{path}.{key}", _("Enter text."))
            return default
        if required and not value.strip():
            self.add(f"{path}.{key}", _("This field is required."))
        elif len(value) > LIMITS[limit]:
            self.add(
                f"{path}.{key}",
                _("Enter at most %(max)d characters.") % {"max": LIMITS[limit]},
            )
        return value.strip() if limit != "html" else value

    def url(self, block, key, path, *, required=True, schemes=LINK):
        value = self.text(block, key, path, required=required, limit="url")
        if value and not is_url(value, schemes=schemes):
            self.add(
                f"{path}.{key}",
                _("Enter a web address starting with http:// or https://.")
                if schemes == WEB
                else _(
                    "Enter a web address starting with http:// or https://, or an email "
                    "link starting with mailto:."
                ),
            )
        return value

    def number(self, block, key, path, bounds, *, default=None):
        value = block.get(key, default)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (bounds[0] <= value <= bounds[1])
        ):
            self.add(
                f"{path}.{key}",
                _("Enter a whole number between %(min)d and %(max)d.")
                % {"min": bounds[0], "max": bounds[1]},
            )
            return default
        return value

    def choice(self, block, key, path, choices, default):
        value = block.get(key, default)
        if value not in choices:
            self.add(
                f"{path}.{key}",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(map(str, choices))},
            )
            return default
        return value

    def blocks(self, blocks, path, *, nested=False) -> list:
        if not isinstance(blocks, list):
            self.add(path, _("The blocks must be a list."))
            return []
        if len(blocks) > MAX_BLOCKS:
            self.add(path, _("Use at most %(max)d blocks here.") % {"max": MAX_BLOCKS})
        return [
            cleaned
            for index, block in enumerate(blocks[:MAX_BLOCKS])
            if (cleaned := self.block(block, f"{path}.{index}", nested=nested)) is not None
        ]

    def block(self, block, path, *, nested) -> dict | None:
        if not isinstance(block, dict):
            self.add(path, _("Each block must be an object with a type."))
            return None
        kind = block.get("type")
        if kind not in TYPES:
            self.add(
                f"{path}.type",
                _("Choose one of the block types: %(types)s.") % {"types": ", ".join(TYPES)},
            )
            return None
        if nested and kind == "columns":
            self.add(f"{path}.type", _("Columns cannot be put inside columns."))
            return None
        return {"type": kind, **getattr(self, f"_{kind}")(block, path)}

    def _heading(self, block, path):
        return {
            "text": self.text(block, "text", path, required=True),
            "level": self.choice(block, "level", path, LEVELS, 2),
        }

    def _text(self, block, path):
        return {"html": sanitise_text(self.text(block, "html", path, limit="html"))}

    _footer = _text

    def _html(self, block, path):
        return {"html": sanitise_html(self.text(block, "html", path, limit="html"))}

    def _image(self, block, path):
        cleaned = {
            "src": self.url(block, "src", path, schemes=WEB),
            "alt": self.text(block, "alt", path, limit="alt"),
            "href": self.url(block, "href", path, required=False),
        }
        width = self.number(block, "width", path, IMAGE_WIDTH)
        return {**cleaned, "width": width} if width is not None else cleaned

    def _button(self, block, path):
        return {
            "label": self.text(block, "label", path, required=True, limit="label"),
            "href": self.url(block, "href", path),
            "align": self.choice(block, "align", path, ALIGNS, "center"),
        }

    def _divider(self, block, path):
        return {}

    def _spacer(self, block, path):
        return {"height": self.number(block, "height", path, SPACER_HEIGHT, default=24)}

    def _columns(self, block, path):
        columns = block.get("columns")
        if not isinstance(columns, list) or not 2 <= len(columns) <= 3:
            self.add(f"{path}.columns", _("Use 2 or 3 columns."))
            columns = columns[:3] if isinstance(columns, list) else []
        cleaned = []
        for index, column in enumerate(columns):
            where = f"{path}.columns.{index}"
            if not isinstance(column, dict):
                self.add(where, _("Each column must be an object with a list of blocks."))
                continue
            cleaned.append(
                {"blocks": self.blocks(column.get("blocks", []), f"{where}.blocks", nested=True)}
            )
        return {"columns": cleaned}

    def _social(self, block, path):
        links = block.get("links")
        if not isinstance(links, list) or not links:
            self.add(f"{path}.links", _("Add at least one link."))
            return {"links": []}
        if len(links) > MAX_LINKS:
            self.add(f"{path}.links", _("Use at most %(max)d links.") % {"max": MAX_LINKS})
        cleaned = []
        for index, link in enumerate(links[:MAX_LINKS]):
            where = f"{path}.links.{index}"
            if not isinstance(link, dict):
                self.add(where, _("Each link must be an object with a network and an address."))
                continue
            cleaned.append(
                {
                    "network": self.choice(link, "network", where, tuple(NETWORKS), "website"),
                    "href": self.url(link, "href", where),
                }
            )
        return {"links": cleaned}


def clean_content(content) -> dict:
    """`{"blocks": [...]}` with only the known keys of each block and its HTML sanitised;
    InvalidInput naming every problem by its path (`content.blocks.2.href`). An empty
    content is a valid draft."""
    checker = _Checker()
    if content in (None, ""):
        content = {}
    if not isinstance(content, dict):
        checker.add("content", _("The content must be an object with a list of blocks."))
        content = {}
    blocks = checker.blocks(content.get("blocks", []), "content.blocks")
    if checker.fields:
        raise InvalidInput(fields=checker.fields)
    return {"blocks": blocks}


def block_texts(content: dict) -> Iterator[tuple[str, str, str]]:
    """(path, value, kind) of every text that may hold variables, kind being "plain",
    "html" or "url"."""
    yield from _texts((content or {}).get("blocks"), "content.blocks")


def _texts(blocks, path: str) -> Iterator[tuple[str, str, str]]:
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        if not isinstance(block, dict):
            continue
        where = f"{path}.{index}"
        kind = block.get("type")
        for key, text_kind in FIELDS.get(kind, ()):
            if isinstance(block.get(key), str) and block[key]:
                yield f"{where}.{key}", block[key], text_kind
        if kind == "social":
            for number, link in enumerate(block.get("links") or []):
                if isinstance(link, dict) and isinstance(link.get("href"), str):
                    yield f"{where}.links.{number}.href", link["href"], "url"
        if kind == "columns":
            for number, column in enumerate(block.get("columns") or []):
                if isinstance(column, dict):
                    yield from _texts(column.get("blocks"), f"{where}.columns.{number}.blocks")


FIELDS = {
    "heading": (("text", "plain"),),
    "text": (("html", "html"),),
    "footer": (("html", "html"),),
    "html": (("html", "html"),),
    "image": (("src", "url"), ("alt", "plain"), ("href", "url")),
    "button": (("label", "plain"), ("href", "url")),
}
