"""What happens to the links of a rendered email: UTM parameters on every web link (not on
the unsubscribe and preferences links, which must work as they are), then the caller's
rewrite (click tracking)."""

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: mrml and css-inline write every attribute in double quotes, escaped.
ANCHOR_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")', re.IGNORECASE)


def utm_params(utm: dict | None) -> list[tuple[str, str]]:
    """`{"source": "newsletter", ...}` as `[("utm_source", "newsletter"), ...]`; empty values
    add nothing."""
    params = []
    for key, value in (utm or {}).items():
        if value in (None, ""):
            continue
        name = key if key.startswith("utm_") else f"utm_{key}"
        params.append((name, str(value)))
    return params


def with_utm(url: str, params: list[tuple[str, str]]) -> str:
    """`url` with the UTM parameters it does not have yet; its own query stays as written."""
    parts = urlsplit(url)
    present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(name, value) for name, value in params if name not in present]
    if not extra:
        return url
    query = "&".join(filter(None, [parts.query, urlencode(extra)]))
    return urlunsplit(parts._replace(path=parts.path or "/", query=query))


def rewrite_links(
    document: str,
    *,
    keep: set[str],
    utm: dict | None,
    rewrite_link: Callable[[str], str] | None = None,
) -> str:
    """Every http(s) link of `document` but those in `keep`, with UTM then `rewrite_link`."""
    params = utm_params(utm)

    def replace(match):
        url = html.unescape(match.group(2)).strip()
        if url in keep or not url.lower().startswith(("http://", "https://")):
            return match.group(0)
        url = with_utm(url, params)
        if rewrite_link is not None:
            url = rewrite_link(url)
        return match.group(1) + html.escape(url, quote=True) + match.group(3)

    return ANCHOR_HREF.sub(replace, document)
