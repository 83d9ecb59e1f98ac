"""The plain-text part, written by inscriptis from the same filled-in blocks as the HTML
(not from its layout tables, which cost time and leave stray spaces), with each link's
address after its label: a text reader cannot click a word."""

import re
from html import escape

import lxml.html
from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig

from .blocks import NETWORKS

CONFIG = ParserConfig(display_images=False, display_links=False)


def _block(block: dict) -> str:
    kind = block["type"]
    if kind == "heading":
        return f"<h{block['level']}>{escape(block['text'])}</h{block['level']}>"
    if kind in ("text", "html", "footer"):
        return f"<div>{block['html']}</div>"
    if kind == "button":
        label = escape(block["label"])
        return f'<p><a href="{escape(block["href"])}">{label}</a></p>' if block["href"] else label
    if kind == "image" and block.get("href"):
        return f'<p><a href="{escape(block["href"])}">{escape(block.get("alt") or "")}</a></p>'
    if kind == "social":
        return "".join(
            f'<div><a href="{escape(link["href"])}">{escape(str(NETWORKS[link["network"]]))}</a>'
            "</div>"
            for link in block["links"]
            if link["href"]
        )
    if kind == "columns":
        return "".join(_block(inner) for column in block["columns"] for inner in column["blocks"])
    return ""


def text_document(blocks: list, links_html: str) -> str:
    """The blocks as plain HTML, footers last, then the unsubscribe and preferences line."""
    main = "".join(_block(block) for block in blocks if block["type"] != "footer")
    footer = "".join(_block(block) for block in blocks if block["type"] == "footer")
    return f"<html><body>{main}{footer}{links_html}</body></html>"


def text_part(document: str) -> str:
    tree = lxml.html.document_fromstring(document)
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        shown = href.removeprefix("mailto:")
        label = " ".join(anchor.text_content().split())
        if shown and shown != label:
            anchor.tail = (f" ({shown})" if label else shown) + (anchor.tail or "")
    text = Inscriptis(tree, CONFIG).get_text()
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
