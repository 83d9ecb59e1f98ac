"""Blocks whose variables are already filled in, written as MJML in a theme's styles. Every
text goes in escaped; HTML comes sanitised. The layout: a card of sections on the page
colour, a band for the first heading where the theme has one, and the footer under the
card, muted, always ending with the unsubscribe and preferences links."""

from html import escape

from .blocks import NETWORKS

HEADING_SIZES = {1: 30, 2: 24, 3: 19}
BAND_SIZE = 34
#: Inside columns, gutters are narrower and headings smaller.
COLUMN_GAP = 12
PHONE = 480


def _a(value) -> str:
    return escape(str(value), quote=True)


def _attrs(**values) -> str:
    return "".join(
        f' {name.replace("_", "-")}="{_a(value)}"' for name, value in values.items() if value
    )


def _css(s: dict) -> str:
    """Rules css-inline writes into each element; the media rule alone stays a stylesheet."""
    heading = f"font-family:{s['heading_font']};color:{s['heading_color']};margin:0;"
    sizes = "".join(
        f".nl-heading h{level}{{font-size:{size}px;line-height:1.25;"
        f"font-weight:{s['heading_weight']};{heading}}}"
        for level, size in HEADING_SIZES.items()
    )
    return (
        sizes
        + ".nl-text p{margin:0 0 16px;}.nl-text ul,.nl-text ol{margin:0 0 16px;padding:0 0 0 24px;}"
        ".nl-text li{margin:0 0 6px;}"
        ".nl-text p:last-child,.nl-text ul:last-child,.nl-text ol:last-child{margin-bottom:0;}"
        f".nl-text a{{color:{s['link_color']};text-decoration:underline;}}"
        f".nl-social a{{display:inline-block;margin:0 4px 8px;padding:6px 14px;"
        f"border:1px solid {s['divider_color']};border-radius:999px;color:{s['text_color']};"
        "text-decoration:none;font-size:14px;line-height:1.4;}"
        ".nl-footer p{margin:0 0 8px;}"
        f".nl-footer a{{color:{s['muted_color']};text-decoration:underline;}}"
        f"@media only screen and (max-width:{PHONE}px){{"
        ".nl-pad{padding-left:24px !important;padding-right:24px !important;}"
        ".nl-heading h1{font-size:26px !important;}"
        f".nl-cols>table>tbody>tr>td{{padding-left:{24 - COLUMN_GAP}px !important;"
        f"padding-right:{24 - COLUMN_GAP}px !important;}}}}"
    )


class _Writer:
    def __init__(self, styles: dict):
        self.s = styles

    def pad(self, nested: bool, bottom: int = 16, top: int = 0) -> str:
        side = COLUMN_GAP if nested else self.s["padding"]
        return f"{top}px {side}px {bottom}px"

    def classes(self, nested: bool, *names: str) -> str:
        # Inside columns the section narrows on a phone, not each block.
        names = names if nested else (*names, "nl-pad")
        return f' css-class="{" ".join(names)}"' if names else ""

    def block(self, block: dict, nested: bool = False) -> str:
        return getattr(self, f"_{block['type']}")(block, nested)

    def _heading(self, block, nested, color=None, size=None):
        level = block["level"]
        size = size or HEADING_SIZES[3 if nested else level]
        return (
            f"<mj-text{self.classes(nested, 'nl-heading')}"
            f"{_attrs(padding=self.pad(nested, 16 if level == 1 and not nested else 12))}>"
            f'<h{level} style="font-size:{size}px;{f"color:{color};" if color else ""}">'
            f"{escape(block['text'])}</h{level}></mj-text>"
        )

    def _text(self, block, nested):
        return (
            f"<mj-text{self.classes(nested, 'nl-text')}{_attrs(padding=self.pad(nested))}>"
            f"{block['html']}</mj-text>"
        )

    _html = _text

    def _footer(self, block, nested):
        return (
            f'<mj-text{self.classes(nested, "nl-footer")} font-size="13px"'
            f"{_attrs(color=self.s['muted_color'], padding=self.pad(nested))}>"
            f"{block['html']}</mj-text>"
        )

    def _image(self, block, nested):
        width = f"{block['width']}px" if block.get("width") else ""
        return (
            f'<mj-image{self.classes(nested)} alt="{_a(block.get("alt", ""))}"'
            f"{_attrs(src=block['src'], href=block.get('href'))}"
            f"{_attrs(width=width, padding=self.pad(nested), border_radius='4px')} />"
        )

    def _button(self, block, nested):
        s = self.s
        attributes = _attrs(
            href=block["href"],
            align=block["align"],
            background_color=s["button_background"],
            color=s["button_color"],
            border_radius=f"{s['button_radius']}px",
            font_family=s["body_font"],
            inner_padding="10px 20px" if nested else "14px 30px",
            padding=self.pad(nested, 24, 8),
        )
        return (
            f'<mj-button{self.classes(nested)} font-size="16px" font-weight="600"{attributes}>'
            f"{escape(block['label'])}</mj-button>"
        )

    def _divider(self, block, nested):
        return (
            f'<mj-divider{self.classes(nested)} border-width="1px"'
            f"{_attrs(border_color=self.s['divider_color'], padding=self.pad(nested, 24, 8))} />"
        )

    def _spacer(self, block, nested):
        return f'<mj-spacer height="{int(block["height"])}px" />'

    def _social(self, block, nested):
        links = " ".join(
            f'<a href="{_a(link["href"])}">{escape(str(NETWORKS[link["network"]]))}</a>'
            for link in block["links"]
            if link["href"]
        )
        return (
            f'<mj-text{self.classes(nested, "nl-social")} align="center"'
            f"{_attrs(padding=self.pad(nested, 8, 8))}>{links}</mj-text>"
        )

    def _columns(self, block, nested):
        width = f"{100 / len(block['columns']):.4f}%"
        columns = "".join(
            f'<mj-column width="{width}">'
            + "".join(self.block(inner, nested=True) for inner in column["blocks"])
            + "</mj-column>"
            for column in block["columns"]
        )
        side = self.s["padding"] - COLUMN_GAP
        return f'<mj-section padding="0 {side}px" css-class="nl-cols">{columns}</mj-section>'

    def section(self, blocks: list, padding: str = "0") -> str:
        return (
            f'<mj-section padding="{padding}"><mj-column>'
            + "".join(self.block(block) for block in blocks)
            + "</mj-column></mj-section>"
        )

    def band(self, heading: dict) -> str:
        s, radius = self.s, self.s["card_radius"]
        inner = self._heading(heading, False, color=s["header_color"], size=BAND_SIZE)
        return (
            f'<mj-section css-class="nl-band"{_attrs(background_color=s["header_background"])}'
            f"{_attrs(border_radius=f'{radius}px {radius}px 0 0' if radius else '')}"
            f' padding="{s["padding"]}px 0 {s["padding"] - 12}px"><mj-column>{inner}'
            "</mj-column></mj-section>"
        )


def document(
    *,
    blocks: list,
    styles: dict,
    subject: str,
    preheader: str,
    language: str,
    links_html: str,
) -> str:
    """The whole MJML document; `links_html` is the unsubscribe and preferences line."""
    s = styles
    writer = _Writer(s)
    main = [block for block in blocks if block["type"] != "footer"]
    footer = "".join(block["html"] for block in blocks if block["type"] == "footer")
    card = []
    banded = bool(s.get("header_background") and main and main[0]["type"] == "heading")
    if banded:
        card.append(writer.band(main.pop(0)))
        card.append('<mj-section padding="32px 0 0"></mj-section>')
    run = []
    for block in main:
        if block["type"] == "columns":
            if run:
                card.append(writer.section(run))
                run = []
            card.append(writer.block(block))
        else:
            run.append(block)
    if run or not main:
        card.append(writer.section(run))
    radius = s["card_radius"]
    wrapper = _attrs(
        background_color=s["card_background"],
        border_radius=f"{radius}px" if radius else "",
        padding=f"{0 if banded else s['padding']}px 0 {max(s['padding'] - 16, 16)}px",
    )
    preview = f"<mj-preview>{escape(preheader)}</mj-preview>" if preheader else ""
    text_defaults = _attrs(
        font_size=f"{s['font_size']}px", line_height=s["line_height"], color=s["text_color"]
    )
    footer_text = _attrs(color=s["muted_color"], padding=writer.pad(False, 0))
    return (
        f'<mjml lang="{_a(language)}"><mj-head><mj-title>{escape(subject)}</mj-title>{preview}'
        f'<mj-attributes><mj-all font-family="{_a(s["body_font"])}" />'
        f"<mj-text{text_defaults} />"
        '<mj-section padding="0" /><mj-column padding="0" /></mj-attributes>'
        f"<mj-style>{_css(s)}</mj-style></mj-head>"
        f'<mj-body width="{int(s["width"])}px"{_attrs(background_color=s["background"])}>'
        '<mj-section padding="28px 0 0"></mj-section>'
        f"<mj-wrapper{wrapper}>{''.join(card)}</mj-wrapper>"
        '<mj-section padding="24px 0 40px"><mj-column>'
        '<mj-text css-class="nl-footer nl-pad" align="center" font-size="13px" line-height="1.6"'
        f"{footer_text}>{footer}{links_html}</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
