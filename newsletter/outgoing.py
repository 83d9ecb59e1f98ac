"""The bytes of each campaign email, fast: the campaign is rendered once, then each
contact's values are filled in.

`prepare(campaign)` renders the email once through `rendering.render_email` with markers
instead of the values (`⟦v0⟧` for a variable, `⟦t⟧` the subject, `⟦p⟧` the preview text,
`⟦u⟧`/`⟦r⟧` the unsubscribe and preferences links, `⟦l3⟧` tracked link 3, `⟦o⟧` the open
pixel), then cuts the HTML and the text part at the markers, noting where each one landed:
in HTML text, in an attribute, in a link, in the text part. `message(contact)` computes
each value once, escapes it as that place needs, and joins; the HTML is kept
quoted-printable in pieces, so that only the values are encoded per email. The markers
are printable characters (mrml writes the others escaped in attributes) that nothing on
the way changes; a campaign whose own text holds one is rendered per contact.

The fast path is taken only where it gives what `render_email` gives:
- every text uses plain `{{ name }}` outputs (no tags, no filters), and a variable in a
  link comes after the link's host; otherwise each contact gets `render_email`;
- a contact's value is plain text (printable, single spaces, none at either end), and a
  value inside a link has no character that changes the link's shape (`&?#=%`, quotes,
  spaces); otherwise that contact gets `render_email`;
- `prepare` checks itself: it writes the email for test contacts (HTML-special and
  non-ASCII values, empty values) both ways. If they differ the campaign is rendered per
  contact; if only an empty value makes a difference (a button whose label is the value),
  contacts with that value empty are.

Links: `campaign_links` lists the email's web links with their UTM parameters, in the
order the email shows them; the engine keeps it in `Campaign.links` and the click
redirect goes only there. A link whose address holds a variable (`https://x.test/?u=
{{ email }}`) gets its UTM parameters but is never tracked: its address differs for each
contact, so it cannot be one entry of that list. The unsubscribe and preferences links
are never tracked either.

Each message: RFC 5322 headers (List-Unsubscribe with the one-click URL and a mailto,
List-Unsubscribe-Post, List-Id, Precedence, Feedback-ID), multipart/alternative with the
text then the HTML, UTF-8 in quoted-printable, and a DKIM signature (relaxed/relaxed,
rsa-sha256) when the panel holds the key of the sender's domain (mail.selectors).
"""

import base64
import binascii
import hashlib
import html as html_escaping
import logging
import re
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate
from urllib.parse import urlsplit

import mrml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.utils.translation import gettext as _
from dkim.canonicalization import Relaxed
from liquid.stringify import to_liquid_string

from mail import selectors as mail_selectors
from panel.errors import InvalidInput

from . import links, rendering, signing
from .models import Campaign, Contact
from .rendering import blocks as schema
from .rendering import render as renderer
from .rendering.variables import LIQUID_MARKUP, PLAIN_VALUES, TemplateError, names_in
from .services.campaigns import known_variables

logger = logging.getLogger("newsletter.outgoing")

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧
#: The unsubscribe and preferences links must stay links while marked.
SLOT_URL = "https://slot.invalid/"
MARK = re.compile(rf"(?:{re.escape(SLOT_URL)})?{OPEN}([a-z][0-9]*){CLOSE}")
#: The start of an HTML entity at the end of a text (html.unescape's reading), which
#: the text after it could complete.
ENTITY_START = re.compile(r"&[^\t\n\f <&;]*$")
SIMPLE_OUTPUT = re.compile(r"\{\{-?\s*([A-Za-z_]\w*)\s*-?\}\}")
#: What a value inside a link may hold: nothing that moves the link's query or fragment,
#: nor anything that an HTML or URL step would escape.
LINK_SAFE = re.compile(r"[^\s\"'<>&#?%=\\\x00-\x1f\x7f]*")
PIXEL = (
    '<img src="{}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;">'
)
#: Soft line break of quoted-printable: a marker's value starts and ends its own line.
SOFT_BREAK = b"=\r\n"
QP_LINE = 76
#: The headers of each message besides From and those of the campaign, in this order.
VARYING_HEADERS = (b"To", b"Subject", b"Date", b"Message-ID", b"List-Unsubscribe")
#: How many single empty values `prepare` tries (each costs one render).
EMPTY_PROBES = 8
PROBE_TEXT = "Zoé <b>&amp; \"q\" 'x' \u2764\ufe0f \\ ü"
PROBE_LINK_TEXT = "zoé-ü.1@x.test"


@dataclass(frozen=True, slots=True)
class Outgoing:
    envelope_from: str
    recipient: str
    message_id: str
    data: bytes


class _Unsupported(Exception):
    """The content needs `render_email` for each contact; the message says why."""


# -- escaping, as each step of render_email leaves a value --------------------------------


def _text_escape(value: str) -> str:
    """A value in HTML text, as css-inline writes it."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


#: How mrml writes each character in an attribute, where it differs (str.translate).
_MRML_TABLE: dict[int, str] = {ord("\\"): "\\\\"}
_MRML_KNOWN: set[str] = {chr(code) for code in range(0x20, 0x7F)}


def _learn_mrml_chars(chars: set[str]) -> None:
    """How mrml writes each of `chars` in an attribute (Rust's escape_debug: `\\u{fe0f}`
    for a variation selector...), asked of mrml itself, once per character."""
    ordered = sorted(chars)
    images = "".join(
        f'<mj-image src="https://x.invalid/" alt="x{html_escaping.escape(char)}" />'
        for char in ordered
    )
    body = f"<mj-body><mj-section><mj-column>{images}</mj-column></mj-section></mj-body>"
    try:
        output = mrml.to_html(
            f"<mjml>{body}</mjml>",
            parser_options=renderer.MRML_PARSER,
            render_options=renderer.MRML_RENDER,
        ).content
    except Exception as error:  # mrml refuses the character: so would render_email
        raise _Unsupported(f"mrml cannot write {ordered!r}") from error
    written = re.findall(r'<img alt="x([^"]*)"', output)
    if len(written) != len(ordered):
        raise _Unsupported("mrml's attributes could not be read")
    for char, form in zip(ordered, written, strict=True):
        if form != char:
            _MRML_TABLE[ord(char)] = form
        _MRML_KNOWN.add(char)


def _mrml_attribute(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value.replace("\\", "\\\\") if "\\" in value else value
    unknown = set(value).difference(_MRML_KNOWN)
    if unknown:
        _learn_mrml_chars(unknown)
    return value.translate(_MRML_TABLE)


def _attribute_escape(value: str) -> str:
    """A value in an HTML attribute: mrml's escaping, then css-inline's."""
    value = _mrml_attribute(value)
    if "&" in value:
        value = value.replace("&", "&amp;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    return value


def _as_is(value: str) -> str:
    return value


def _text_part(value: str) -> str:
    """A value in the text part: inscriptis unescapes the text it is given once more."""
    return html_escaping.unescape(value) if "&" in value else value


ESCAPES = {"text": _text_escape, "attr": _attribute_escape, "url": _as_is, "part": _text_part}


def _plain_value(value: str) -> bool:
    """Printable, single spaces, none at either end: HTML and inscriptis keep it as it is."""
    return value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " "


def _link_safe(value: str) -> bool:
    return bool(LINK_SAFE.fullmatch(value)) and (value.isascii() or _mrml_attribute(value) == value)


def _liquid_text(value) -> str:
    """A contact's value as Liquid writes it (the sandbox sees only plain values)."""
    return to_liquid_string(value if isinstance(value, PLAIN_VALUES) else str(value), False)


# -- quoted-printable in pieces ------------------------------------------------------------


def _qp(text: str) -> bytes:
    """`text` as quoted-printable with CRLF line ends (a line of at most 76 octets)."""
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode())
    encoded = encoded.replace(b"\n", b"\r\n")
    if b"\nFrom " in encoded:  # some relays rewrite it as ">From ", breaking DKIM
        encoded = encoded.replace(b"\nFrom ", b"\n=46rom ")
    return b"=46" + encoded[1:] if encoded.startswith(b"From ") else encoded


def _qp_piece(text: str) -> bytes:
    """`text` as quoted-printable whose last line leaves room for a soft line break."""
    if (
        len(text) < QP_LINE
        and text.isascii()
        and text.isprintable()
        and "=" not in text
        and text[-1:] != " "
        and not text.startswith("From ")
    ):
        return text.encode()  # as it is: a click URL, a name
    encoded = _qp(text)
    start = encoded.rfind(b"\n") + 1
    if len(encoded) - start < QP_LINE:
        return encoded
    cut = start + QP_LINE - 1
    # Never inside an escape (`=E2`): a soft break goes before it.
    if encoded[cut - 1 : cut] == b"=":
        cut -= 1
    elif encoded[cut - 2 : cut - 1] == b"=":
        cut -= 2
    return encoded[:cut] + SOFT_BREAK + encoded[cut:]


# -- headers --------------------------------------------------------------------------------


def _header_text(value: str) -> str:
    """Unstructured header text: as it is when ASCII and short, else RFC 2047 encoded
    words (base64 of whole characters, folded)."""
    if value.isascii() and value.isprintable() and "=?" not in value and len(value) < 900:
        return value
    data, words, start = value.encode(), [], 0
    while start < len(data):
        end = min(start + 42, len(data))  # a word of 68 characters: a line of at most 78
        while end < len(data) and data[end] & 0xC0 == 0x80:  # whole characters only
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode()}?=")
        start = end
    return "\r\n ".join(words)


def _phrase_address(name: str, address: str) -> str:
    """`"Name" <address>`: the name quoted, or encoded words when it is not ASCII."""
    if not name:
        return f"<{address}>"
    if name.isascii() and name.isprintable():
        phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        phrase = Header(name, "utf-8").encode(linesep="\r\n")
    separator = " " if len(phrase) + len(address) < 70 else "\r\n "
    return f"{phrase}{separator}<{address}>"


_date_cache = [0, ""]


def _date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, formatdate(now, usegmt=True)]
    return _date_cache[1]


_TRAILING_SPACE = re.compile(rb"[\t ]+\r\n")
_TABS = re.compile(rb"[\t ]*\t[\t ]*")
_SPACES = re.compile(rb"  +")


def _relaxed_body(body: bytes) -> bytes:
    """The body as RFC 6376 (3.4.4) relaxed canonicalisation reads it, as dkimpy's does but
    five times faster: each regular expression runs only where it has work."""
    if b" \r\n" in body or b"\t\r\n" in body:
        body = _TRAILING_SPACE.sub(b"\r\n", body)
    if b"\t" in body:
        body = _TABS.sub(b" ", body)
    if b"  " in body:
        body = _SPACES.sub(b" ", body)
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


class _DkimSigner:
    """A DKIM-Signature (RFC 6376: rsa-sha256, relaxed/relaxed) over the headers this
    module writes: dkimpy canonicalises the headers, as the mail server's signer does;
    the RSA signature is OpenSSL's, 30 times faster than dkimpy's own."""

    def __init__(self, *, domain: str, selector: str, private_key: str):
        self.domain = domain.encode("idna")
        self.selector = selector.encode()
        self.key = serialization.load_pem_private_key(private_key.encode(), password=None)

    def header(self, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
        body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
        names = [name.lower() for name, _value in headers]
        lines = [b":".join(names[start : start + 6]) for start in range(0, len(names), 6)]
        value = (
            b" v=1; a=rsa-sha256; c=relaxed/relaxed; d=%b; s=%b;\r\n\tt=%d; h=%b;\r\n\tbh=%b;"
            b"\r\n\tb="
            % (self.domain, self.selector, int(time.time()), b":\r\n\t".join(lines), body_hash)
        )
        canonical = Relaxed.canonicalize_headers([*headers, (b"DKIM-Signature", value)])
        signed = b"".join(name + b":" + text for name, text in canonical).removesuffix(b"\r\n")
        signature = base64.b64encode(self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256()))
        folded = b"\r\n\t".join(signature[i : i + 72] for i in range(0, len(signature), 72))
        return b"DKIM-Signature:" + value + folded + b"\r\n"


def _dkim_signer(campaign: Campaign, sender_email: str) -> _DkimSigner | None:
    domain = sender_email.rpartition("@")[2].lower()
    found = mail_selectors.dkim_signing_key(organisation_id=campaign.organisation_id, domain=domain)
    if found is None:
        return None
    selector, private_key = found
    return _DkimSigner(domain=domain, selector=selector, private_key=private_key)


# -- the pieces of one rendering ------------------------------------------------------------

_TAG = re.compile(r'<!--.*?-->|<(/?)([A-Za-z][^\s/>]*)((?:"[^"]*"|[^>"])*)>', re.DOTALL)
_ATTRIBUTE = re.compile(r'([^\s"=/]+)="([^"]*)"')
_RAW_ELEMENTS = {"style", "script"}


def _marked_pieces(text: str, context: str) -> list:
    """`text` as literal strings and (marker key, context) pairs."""
    pieces, start = [], 0
    for found in MARK.finditer(text):
        pieces.append(text[start : found.start()])
        pieces.append((found.group(1), context))
        start = found.end()
    pieces.append(text[start:])
    return pieces


def _html_pieces(document: str) -> list:
    """The rendered HTML cut at its markers, each noted with where it stands: "text",
    "attr" (an attribute) or "url" (an href or src)."""
    pieces, start, raw = [], 0, None
    for tag in _TAG.finditer(document):
        pieces += _marked_pieces(document[start : tag.start()], "raw" if raw else "text")
        start = tag.end()
        source = tag.group(0)
        if source.startswith("<!--"):
            pieces.append(source)
            continue
        closing, name = tag.group(1), tag.group(2).lower()
        if closing and name == raw:
            raw = None
        elif not closing and name in _RAW_ELEMENTS:
            raw = name
        if OPEN not in source:
            pieces.append(source)
            continue
        position = 0
        for attribute in _ATTRIBUTE.finditer(source):
            if OPEN not in attribute.group(2):
                continue
            context = "url" if attribute.group(1).lower() in ("href", "src") else "attr"
            pieces.append(source[position : attribute.start(2)])
            pieces += _marked_pieces(attribute.group(2), context)
            position = attribute.end(2)
        pieces.append(source[position:])
    pieces += _marked_pieces(document[start:], "raw" if raw else "text")
    for piece in pieces:
        if isinstance(piece, str) and OPEN in piece:
            raise _Unsupported("a marker inside a tag, outside an attribute's value")
        if isinstance(piece, tuple) and piece[1] == "raw":
            raise _Unsupported("a marker inside a style or script element")
    return pieces


def add_open_pixel(html: str, url: str) -> str:
    """The 1x1 image that tells an opening, last in the body."""
    pixel = PIXEL.format(html_escaping.escape(url))
    end = html.rfind("</body>")
    return html + pixel if end < 0 else html[:end] + pixel + html[end:]


@dataclass
class _Analysis:
    """The names the texts use, and why the fast path cannot serve (None if it can)."""

    names: list[str]
    unsupported: str | None


def _texts(campaign: Campaign, content: dict) -> list[tuple[str, str, str]]:
    return [
        ("title", campaign.title or "", "plain"),
        ("preview_text", campaign.preview_text or "", "plain"),
        *schema.block_texts(content),
    ]


def _link_template_ok(template: str) -> bool:
    """A link with variables keeps its shape whatever their values: they come after its
    host (or it is a mailto), or it is the unsubscribe or preferences link itself."""
    if "{{" not in template:
        return True
    whole = SIMPLE_OUTPUT.fullmatch(template.strip())
    if whole:
        return whole.group(1) in ("unsubscribe_url", "preferences_url")
    before = template.split("{{", 1)[0]
    try:
        parts = urlsplit(before)
    except ValueError:
        return False
    if parts.scheme.lower() == "mailto":
        return before.lower().startswith("mailto:")
    prefix = f"{parts.scheme}://{parts.netloc}"
    return (
        parts.scheme.lower() in schema.WEB
        and bool(parts.netloc)
        and before.lower().startswith(prefix.lower())
        and before[len(prefix) :][:1] in ("/", "?", "#")
    )


def _analyse(campaign: Campaign, content: dict) -> _Analysis:
    names: set[str] = set()
    unsupported = None
    for field, text, kind in _texts(campaign, content):
        if OPEN in text or CLOSE in text:
            unsupported = f"{field} holds a marker character"
        try:
            names |= names_in(text, as_html=kind == "html")
        except TemplateError as error:
            return _Analysis(sorted(names), f"{field}: {error.message}")
        for markup in LIQUID_MARKUP.finditer(text):
            source = html_escaping.unescape(markup.group(0)) if kind == "html" else markup.group(0)
            output = SIMPLE_OUTPUT.fullmatch(source)
            if output is None or output.group(1) not in names:
                unsupported = f"{field} uses more of Liquid than {{{{ name }}}}"
        if kind == "url" and not _link_template_ok(text):
            unsupported = f"{field}: a variable is part of the link's host"
        if kind == "html" and "{{" in text:
            if re.search(r"<(table|pre)\b", text, re.IGNORECASE):
                unsupported = f"{field}: variables in a table or preformatted text"
            for attribute in re.finditer(r'\s(href|src)="([^"]*)"', text):
                if not _link_template_ok(html_escaping.unescape(attribute.group(2))):
                    unsupported = f"{field}: a variable is part of a link's host"
    return _Analysis(sorted(names), unsupported)


# -- the campaign, prepared -----------------------------------------------------------------


def _mark(key: str) -> str:
    return f"{OPEN}{key}{CLOSE}"


class _Marked:
    """One rendering of the campaign with markers for every value."""

    def __init__(self, campaign: Campaign, content: dict, names: list[str],
                 links_in_order: list[str] | None, *, track: bool):  # fmt: skip
        self.names = names
        self.links = list(links_in_order or [])
        fixed = links_in_order is not None
        index = {url: number for number, url in enumerate(self.links)}

        def rewrite(url: str) -> str:
            if OPEN in url:
                return url  # it depends on the contact: untracked
            if url not in index and not fixed:
                index[url] = len(self.links)
                self.links.append(url)
            number = index.get(url)
            return _mark(f"l{number}") if track and number is not None else url

        self.rendered = rendering.render_email(
            content=content,
            theme=campaign.theme or next(iter(rendering.THEMES)),
            variables={name: _mark(f"v{number}") for number, name in enumerate(names)},
            preview_text=_mark("p") if (campaign.preview_text or "").strip() else "",
            title=_mark("t"),
            unsubscribe_url=SLOT_URL + _mark("u"),
            preferences_url=SLOT_URL + _mark("r"),
            utm=campaign.utm or {},
            rewrite_link=rewrite,
            language=campaign.language,
        )


def campaign_links(campaign: Campaign) -> list[str]:
    """The web links of the campaign's email with their UTM parameters, in the order the
    email shows them, each once; not the unsubscribe and preferences links, nor a link
    whose address holds a variable (it differs for each contact). With Liquid tags, the
    email is read with every variable set (`{% if first_name %}` holds): a link only
    another branch shows is not in the list, and goes untracked. A content with mistakes
    has no list (each email then fails with them)."""
    content = rendering.clean_content(campaign.content or {})
    known = {entry["key"] for entry in known_variables(campaign.newsletter)}
    names = [name for name in _analyse(campaign, content).names if name in known]
    try:
        return _Marked(campaign, content, names, None, track=False).links
    except InvalidInput:
        return []


class PreparedCampaign:
    """The campaign rendered once, and what each email adds: see the module's docstring."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        newsletter = campaign.newsletter
        sender = campaign.sender
        if sender is None:
            raise InvalidInput(fields={"sender": [_("Choose the sender address.")]})
        self.content = rendering.clean_content(campaign.content or {})
        self.known = [entry["key"] for entry in known_variables(newsletter)]
        # The indices of the click redirect: those the engine stored when the send began.
        self.links = list(campaign.links or []) or campaign_links(campaign)
        self.signer = _dkim_signer(campaign, sender.email)
        self._constant_headers(campaign, newsletter, sender)
        self.fast = False
        self.empty_sensitive: set[str] = set()
        analysis = _analyse(campaign, self.content)
        self.why_slow = analysis.unsupported
        if self.why_slow is None:
            try:
                self._prepare_fast([name for name in analysis.names if name in self.known])
                self._probe()
            except _Unsupported as error:
                self.fast, self.why_slow = False, str(error)
            except (InvalidInput, TemplateError):
                # render_email refuses the content: each message raises its InvalidInput.
                self.fast, self.why_slow = False, "the content has mistakes"
        if self.why_slow:
            logger.info("Campaign %s is rendered per contact: %s", campaign.pk, self.why_slow)

    # -- once per campaign ------------------------------------------------------------------

    def _constant_headers(self, campaign: Campaign, newsletter, sender) -> None:
        domain = settings.NEWSLETTER_BOUNCE_DOMAIN
        boundary = f"=_panel-{campaign.pk}"  # "=_" never occurs in quoted-printable
        self.from_header = _phrase_address(sender.name, sender.email).encode()
        headers = [("MIME-Version", "1.0")]
        if campaign.reply_to:
            headers.append(("Reply-To", campaign.reply_to))
        headers += [
            ("List-Id", _phrase_address(newsletter.name, f"newsletter-{newsletter.pk}.{domain}")),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Precedence", "bulk"),
            ("Feedback-ID", f"{campaign.pk}:{newsletter.pk}:{campaign.organisation_id}:panel"),
            ("Content-Language", campaign.language or "en"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        self.fixed_headers = [(name.encode(), value.encode()) for name, value in headers]
        fixed = "".join(f"{name}: {value}\r\n" for name, value in headers)
        varying = "".join(f"{name.decode()}: {{}}\r\n" for name in VARYING_HEADERS)
        self.head_template = (
            "From: " + self.from_header.decode().replace("{", "{{").replace("}", "}}") + "\r\n"
            + varying + fixed.replace("{", "{{").replace("}", "}}") + "\r\n"
        )  # fmt: skip
        part = (
            '--{boundary}\r\nContent-Type: text/{kind}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        self.text_head = part.format(boundary=boundary, kind="plain").encode()
        self.html_head = b"\r\n" + part.format(boundary=boundary, kind="html").encode()
        self.end = f"\r\n--{boundary}--\r\n".encode()

    def _prepare_fast(self, names: list[str]) -> None:
        campaign = self.campaign
        self.names = names
        marked = _Marked(campaign, self.content, names, self.links, track=campaign.track_clicks)
        self.title = self._plain_pieces(campaign.title or "")
        self.preview = self._plain_pieces(campaign.preview_text or "")
        self.has_preview = bool((campaign.preview_text or "").strip())
        html = marked.rendered.html
        if campaign.track_opens:
            html = add_open_pixel(html, _mark("o"))
        self.html_template, self.html_keys = _compiled(_html_pieces(html))
        self._compile_text(_marked_pieces(marked.rendered.text, "part"))
        used = {key for key, _context in [*self.html_keys, *self.text_keys]}
        for key in used:
            if key[0] == "v" and not (key[1:].isdigit() and int(key[1:]) < len(names)):
                raise _Unsupported(f"an unknown marker {key}")
        self.link_numbers = sorted(
            {int(key[1:]) for key, context in self.html_keys if key[0] == "v" and context == "url"}
        )
        self.tracked = sorted({int(key[1:]) for key in used if key[0] == "l"})
        self.fast = True

    def _plain_pieces(self, text: str) -> list:
        """A title or preview text as literal and variable pieces (plain `{{ name }}`)."""
        if "{" not in text:
            return [text]
        values = {name: _mark(f"v{number}") for number, name in enumerate(self.names)}
        values.update(unsubscribe_url=SLOT_URL + _mark("u"), preferences_url=SLOT_URL + _mark("r"))
        return _marked_pieces(rendering.render_string(text, values), "raw")

    def _compile_text(self, pieces: list) -> None:
        """The text part as quoted-printable pieces, and line by line for `_tidy_text`."""
        self.text_template, self.text_keys = _compiled(pieces)
        self.text_variables = {int(key[1:]) for key, _part in self.text_keys if key[0] == "v"}
        # An entity begun before a value could end inside it (inscriptis unescapes).
        self.entity_before = {
            int(piece[0][1:])
            for before, piece in zip(pieces, pieces[1:], strict=False)
            if isinstance(piece, tuple) and piece[0][0] == "v"
            and isinstance(before, str) and ENTITY_START.search(before)
        }  # fmt: skip
        self.text_lines, line, keys = [], [], []
        for piece in [*pieces, "\n"]:
            if isinstance(piece, tuple):
                line.append("{}")
                keys.append(piece[0])
                continue
            *ends, rest = piece.replace("{", "{{").replace("}", "}}").split("\n")
            for end in ends:
                self.text_lines.append(("".join([*line, end]), keys))
                line, keys = [], []
            line.append(rest)

    def _probe(self) -> None:
        """Writes the email for test contacts both ways (see the module's docstring): one
        with HTML-special and non-ASCII values must agree, or the campaign is rendered
        per contact; then empty values, all together and one by one, find those whose
        emptiness changes the layout (`empty_sensitive`)."""
        names = self.names
        in_links = {names[number] for number in self.link_numbers}
        after_entity = {names[number] for number in self.entity_before}

        def value(name):
            if name in in_links:
                return PROBE_LINK_TEXT
            return "<" + PROBE_TEXT if name in after_entity else PROBE_TEXT

        def agrees(empty=()) -> bool | None:
            return self._agrees({name: "" if name in empty else value(name) for name in names})

        if agrees() is not True:
            raise _Unsupported("a test contact's email differs from render_email's")
        if not names:
            return
        # A preview text of variables alone, all empty, sends the contact to render_email:
        # then they keep a value.
        in_preview = {
            names[int(piece[0][1:])]
            for piece in self.preview
            if isinstance(piece, tuple) and piece[0][0] == "v"
        }
        empty = set(names) if agrees(names) is not None else set(names) - in_preview
        if agrees(empty) is True:
            return
        sensitive = set(names)
        if len(names) <= EMPTY_PROBES:
            found = {name for name in names if agrees([name]) is False}
            # Several values empty together may matter where none does alone: all count.
            if found and agrees(empty - found) is True:
                sensitive = found
        self.empty_sensitive = sensitive

    def _agrees(self, values: dict) -> bool | None:
        """Whether a contact of `values` gets the same email both ways; None when the fast
        path would not serve such a contact."""
        contact = Contact(
            pk=0, email=values.get("email", PROBE_LINK_TEXT),
            fields={name: value for name, value in values.items() if name != "email"},
        )  # fmt: skip
        raw = self._raw(contact)
        if raw is None:
            return None
        subject, html, text = self._slow_parts(contact)
        data = self._assemble_fast(contact, raw, "<probe@x.invalid>")
        return _decoded(data) == (subject, _lines(html), _lines(text))

    # -- once per contact -------------------------------------------------------------------

    def message(self, contact: Contact) -> Outgoing:
        """The email to `contact`, ready for SMTP. InvalidInput when the content has a
        mistake (an unknown variable...), as render_email says."""
        message_id = signing.message_id(self.campaign.pk, contact.pk)
        raw = self._raw(contact) if self.fast else None
        if raw is None:
            data = self._assemble_slow(contact, message_id)
        else:
            data = self._assemble_fast(contact, raw, message_id)
        return Outgoing(
            envelope_from=signing.return_path(self.campaign.pk, contact.pk),
            recipient=contact.email,
            message_id=message_id,
            data=data,
        )

    def fast_for(self, contact: Contact) -> bool:
        """Whether `contact`'s email is filled in from the prepared pieces (else it is
        rendered by render_email)."""
        return self.fast and self._raw(contact) is not None

    def _variables(self, contact: Contact) -> dict:
        """The contact's values by key, as services.campaigns.variables_of gives them."""
        fields = contact.fields or {}
        values = {key: fields.get(key, "") for key in self.known}
        values["email"] = contact.email
        return {key: "" if value is None else value for key, value in values.items()}

    def _raw(self, contact: Contact) -> dict | None:
        """Each marker's value for `contact` but the links', unescaped; None when this
        contact needs render_email (see the module's docstring)."""
        fields = contact.fields or {}
        raw = {}
        for number, name in enumerate(self.names):
            value = contact.email if name == "email" else fields.get(name)
            text = value if type(value) is str else "" if value is None else _liquid_text(value)
            if not _plain_value(text) or (not text and name in self.empty_sensitive):
                return None
            raw[f"v{number}"] = text
        for number in self.link_numbers:
            if not _link_safe(raw[f"v{number}"]):
                return None
        for number in self.text_variables:
            text = raw[f"v{number}"]
            if "&" in text and ENTITY_START.search(text):
                return None
            if number in self.entity_before and text[:1] not in ("", " ", "<", "&"):
                return None
        raw["u"] = links.unsubscribe_url(contact, self.campaign)
        raw["r"] = links.preferences_url(contact)
        raw["t"] = " ".join(_fill(self.title, raw).split())
        raw["p"] = " ".join(_fill(self.preview, raw).split())
        if self.has_preview and not raw["p"]:
            return None  # render_email leaves the preview out
        return raw

    def _assemble_fast(self, contact: Contact, raw: dict, message_id: str) -> bytes:
        """The message from the prepared pieces and `_raw`'s values."""
        campaign = self.campaign
        if campaign.track_opens:
            raw["o"] = signing.open_url(campaign.pk, contact.pk)
        for number in self.tracked:
            raw[f"l{number}"] = signing.click_url(campaign.pk, contact.pk, number)
        forms = {}
        for key in self.html_keys:
            if key not in forms:
                forms[key] = _qp_piece(ESCAPES[key[1]](raw[key[0]]))
        html = self.html_template % tuple([forms[key] for key in self.html_keys])
        if all(raw[key] for key, _part in self.text_keys):
            for key in self.text_keys:
                if key not in forms:
                    forms[key] = _qp_piece(_text_part(raw[key[0]]))
            text = self.text_template % tuple([forms[key] for key in self.text_keys])
        else:
            text = _qp(self._tidy_text(raw))
        return self._envelope(contact, message_id, raw["t"], raw["u"], text, html)

    def _tidy_text(self, raw: dict) -> str:
        """The text part where some values are empty: the spaces around them and a line
        left empty go, as inscriptis and text_part do."""
        lines = []
        for line, keys in self.text_lines:
            if not keys:
                lines.append(line.format())
                continue
            filled = line.format(*[_text_part(raw[key]) for key in keys])
            filled = re.sub(" {2,}", " ", filled).strip()
            if filled:
                lines.append(filled)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"

    def _slow_parts(self, contact: Contact) -> tuple[str, str, str]:
        """(subject, html, text) by render_email, as the fast path must give them."""
        campaign = self.campaign
        index = {url: number for number, url in enumerate(self.links)}

        def track(url: str) -> str:
            number = index.get(url)
            if number is None or not campaign.track_clicks:
                return url
            return signing.click_url(campaign.pk, contact.pk, number)

        rendered = rendering.render_email(
            content=self.content,
            theme=campaign.theme or next(iter(rendering.THEMES)),
            variables=self._variables(contact),
            preview_text=campaign.preview_text,
            title=campaign.title,
            unsubscribe_url=links.unsubscribe_url(contact, campaign),
            preferences_url=links.preferences_url(contact),
            utm=campaign.utm or {},
            rewrite_link=track,
            language=campaign.language,
        )
        html = rendered.html
        if campaign.track_opens:
            html = add_open_pixel(html, signing.open_url(campaign.pk, contact.pk))
        return rendered.subject, html, rendered.text

    def _assemble_slow(self, contact: Contact, message_id: str) -> bytes:
        subject, html, text = self._slow_parts(contact)
        unsubscribe = links.unsubscribe_url(contact, self.campaign)
        return self._envelope(contact, message_id, subject, unsubscribe, _qp(text), _qp(html))

    def _envelope(self, contact, message_id, subject, unsubscribe, text, html) -> bytes:
        mailto = signing.unsubscribe_mailto(self.campaign.pk, contact.pk)
        values = (
            contact.email, _header_text(subject), _date(), message_id,
            f"<{unsubscribe}>,\r\n <mailto:{mailto}>",
        )  # fmt: skip
        body = b"".join((self.text_head, text, self.html_head, html, self.end))
        if self.signer is None:
            return self.head_template.format(*values).encode() + body
        headers = [
            (b"From", self.from_header),
            *zip(VARYING_HEADERS, [value.encode() for value in values], strict=True),
            *self.fixed_headers,
        ]
        head = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
        signed = [(name, b" " + value + b"\r\n") for name, value in headers]
        return self.signer.header(signed, body) + head + b"\r\n" + body


def _compiled(pieces: list) -> tuple[bytes, list]:
    """Pieces as quoted-printable bytes with a `%b` per marker, each marker's value on its
    own lines between soft line breaks; and the (marker, place) of each `%b`."""
    template, keys, literal = [], [], []
    for piece in pieces:
        if isinstance(piece, str):
            literal.append(piece)
            continue
        template.append(_qp_piece("".join(literal)).replace(b"%", b"%%"))
        template.append(SOFT_BREAK + b"%b" + SOFT_BREAK)
        keys.append(piece)
        literal = []
    template.append(_qp("".join(literal)).replace(b"%", b"%%"))
    return b"".join(template), keys


def _fill(pieces: list, raw: dict) -> str:
    return "".join(piece if isinstance(piece, str) else raw[piece[0]] for piece in pieces)


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def _decoded(data: bytes) -> tuple[str, str, str]:
    """(subject, html, text) of a message this module wrote."""
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return str(message["Subject"]), _lines(html), _lines(text)


def prepare(campaign: Campaign) -> PreparedCampaign:
    """The campaign ready to be written for each contact (`.message(contact)`). Raises
    InvalidInput when it has no sender."""
    return PreparedCampaign(campaign)
