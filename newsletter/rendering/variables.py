"""Variables in campaign texts (`{{ first_name }}`), rendered by python-liquid in a sandbox:
no loader, no loops or includes, nothing but the values it is given, and an unknown name is
an error rather than a blank in ten thousand mailboxes."""

import functools
import html
import re
from collections.abc import Iterable

from liquid import Environment, StrictUndefined
from liquid.exceptions import LiquidError

from .blocks import block_texts

#: Known in every email, whatever the newsletter's fields.
BUILTINS = frozenset({"email", "unsubscribe_url", "preferences_url"})
TAGS = {"#", "case", "comment", "content", "echo", "if", "illegal", "output", "unless"}
LIQUID_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
PLAIN_VALUES = (str, int, float, bool, type(None))


class TemplateError(ValueError):
    """A text whose variables cannot be read or rendered; `message` says why in Liquid's
    words (English)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class _Sandbox(Environment):
    context_depth_limit = 10
    loop_iteration_limit = 100
    output_stream_limit = 500_000

    def setup_tags_and_filters(self, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        for name in set(self.tags) - TAGS:
            del self.tags[name]
        # `safe` would let a contact's value through the HTML escaping.
        self.filters.pop("safe", None)


PLAIN = _Sandbox(undefined=StrictUndefined)
HTML = _Sandbox(undefined=StrictUndefined, autoescape=True)


def _source(text: str, as_html: bool) -> str:
    # Sanitised HTML has `&gt;` and `&quot;` where the writer typed `>` and `"`.
    if not as_html:
        return text
    return LIQUID_MARKUP.sub(lambda match: html.unescape(match.group(0)), text)


@functools.lru_cache(maxsize=1024)
def _parse(text: str, as_html: bool):
    environment = HTML if as_html else PLAIN
    try:
        return environment.from_string(_source(text, as_html))
    except LiquidError as error:
        raise TemplateError(error.message or str(error)) from None


def names_in(text: str, *, as_html: bool = False) -> set[str]:
    """The variables `text` reads; TemplateError when it cannot be parsed or uses a filter
    that does not exist."""
    analysis = _parse(text, as_html).analyze()
    unknown = sorted(set(analysis.filters) - set(PLAIN.filters))
    if unknown:
        raise TemplateError(f"unknown filter '{unknown[0]}'")
    return set(analysis.globals)


def _value(value):
    # Only plain values: the template sees nothing of an object but its text.
    return value if isinstance(value, PLAIN_VALUES) else str(value)


def render_string(text: str, variables: dict, *, as_html: bool = False) -> str:
    """`text` with its variables; as_html escapes the values (not the text around them).
    TemplateError for a mistake or a variable missing from `variables`."""
    if "{" not in text:
        return text
    values = {str(key): _value(value) for key, value in variables.items()}
    try:
        return _parse(text, as_html).render(**values)
    except LiquidError as error:
        raise TemplateError(error.message or str(error)) from None


def unknown_variables(content_or_texts: dict | Iterable[str], known: set[str]) -> list[str]:
    """The names used but neither in `known` nor built in, sorted; texts that cannot be
    parsed are left to `problems`."""
    if isinstance(content_or_texts, dict):
        texts = [(value, kind == "html") for _, value, kind in block_texts(content_or_texts)]
    else:
        texts = [(text, False) for text in content_or_texts]
    found = set()
    for text, as_html in texts:
        try:
            found |= names_in(text, as_html=as_html)
        except TemplateError:
            continue
    return sorted(found - set(known) - BUILTINS)
