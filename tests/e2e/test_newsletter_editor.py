"""The newsletter block editor (newsletter/templates/newsletter/campaign_editor.html) in
headless Chromium, on a page of this module that includes it inside a form as the campaign
wizard does: blocks added from the panel by click and by drag, one dragged by its handle,
moved with the keyboard, deleted and brought back, texts written in place with bold and a
variable from the menu, and the JSON the form sends checked against the shared block schema.
The live preview posts the content with the CSRF token; at 390px the panel is a strip above
the canvas and nothing scrolls sideways. Without JavaScript the JSON textarea is the editor.
Screenshots: tests/e2e/screenshots/newsletter-editor-{desktop,phone}.png."""

import html
import json
import re

import pytest
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template import engines
from django.urls import path
from playwright.sync_api import expect

from newsletter.rendering.blocks import clean_content
from panel.errors import InvalidInput
from panel.mixins import organisation_view
from panel.urls import urlpatterns as panel_urlpatterns
from tests import factories as f

from .conftest import TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
VARIABLES = [
    {"key": "email", "label": "Email address"},
    {"key": "first_name", "label": "First name"},
]

# -- The page under test: this module is the URLconf (see the `editor` fixture) -------------

PAGE = """{% extends "base.html" %}
{% block content %}
<div class="page-header"><div><p class="eyebrow">Spring campaign · step 4 of 7</p>
<h1>Content</h1></div></div>
<form method="post" class="card" novalidate>
  {% csrf_token %}
  <fieldset style="border: 0; margin: 0; padding: 0"{% if locked %} disabled{% endif %}>
  {% include "newsletter/campaign_editor.html" with editor=editor %}
  </fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">Save</button></div>
</form>
{% endblock %}"""

#: what the page shows, and what the form and the preview received
STATE = {"content": {"blocks": []}, "problems": [], "locked": False, "saved": [], "previews": []}


@organisation_view()
def editor_page(request, access):
    if request.method == "POST":
        STATE["content"] = json.loads(request.POST["content"])
        STATE["saved"].append(STATE["content"])
        return redirect(request.path)
    editor = {
        "content_json": STATE["content"]
        if isinstance(STATE["content"], str)
        else json.dumps(STATE["content"]),
        "variables": VARIABLES,
        "preview_url": request.path + "preview/",
        "theme_name": "Harbour",
        "problems": STATE["problems"],
    }
    context = {"editor": editor, "locked": STATE["locked"]}
    return HttpResponse(engines["django"].from_string(PAGE).render(context, request))


def _email(blocks) -> str:
    """A plain reading of the blocks, enough to see that the preview follows the editor."""
    parts = []
    for block in blocks:
        kind = block["type"]
        if kind == "heading":
            parts.append(f"<h{block['level']}>{html.escape(block['text'])}</h{block['level']}>")
        elif kind in ("text", "footer"):
            parts.append(block["html"])
        elif kind == "button":
            parts.append(
                f"<p><a href='{html.escape(block['href'])}'>{html.escape(block['label'])}</a></p>"
            )
        elif kind == "columns":
            parts.append(
                "".join(f"<div>{_email(column['blocks'])}</div>" for column in block["columns"])
            )
    return "".join(parts)


@organisation_view()
def preview(request, access):
    # A POST without the CSRF token never gets here: CsrfViewMiddleware answers 403.
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        content = clean_content(json.loads(request.POST["content"]))
    except InvalidInput as error:
        body = "".join(f"<li>{html.escape(key)}</li>" for key in error.fields)
        return HttpResponse(f"<!doctype html><ul class='problems'>{body}</ul>")
    STATE["previews"].append(content)
    return HttpResponse(
        "<!doctype html><html><body style='margin:0;font:16px sans-serif'>"
        f"<div style='max-width:600px;margin:0 auto;padding:24px'>{_email(content['blocks'])}</div>"
        "</body></html>"
    )


urlpatterns = [
    path("o/<int:org_id>/editor-test/", editor_page),
    path("o/<int:org_id>/editor-test/preview/", preview),
    *panel_urlpatterns,
]


@pytest.fixture
def editor(transactional_db, settings, live_server):
    settings.ROOT_URLCONF = __name__
    user = f.UserFactory(email="nora@example.test")
    org = f.OrganisationFactory(name="Harbour Books", legal_representative=user)
    STATE.update(content={"blocks": []}, problems=[], locked=False, saved=[], previews=[])
    return {"url": f"{live_server.url}/o/{org.pk}/editor-test/", "base": live_server.url}


def _open(browser, editor, viewport, **options):
    context = browser.new_context(viewport=viewport, locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: message.type == "error" and problems.append(f"console: {message.text}"),
    )
    page.goto(f"{editor['base']}/accounts/login/")
    page.fill("input[name=login]", "nora@example.test")
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).not_to_have_url(f"{editor['base']}/accounts/login/")
    page.goto(editor["url"])
    return context, page, problems


def _json(page):
    return json.loads(page.locator("textarea[name=content]").input_value())


def _drag(page, source, target, *, above=False):
    """Press on `source`, move in small steps onto `target` (its top part when `above`) and
    let go, as a person drags with a mouse, following the target as the blocks make room."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    element = target.element_handle()
    for _ in range(3):
        end = element.bounding_box()
        x = end["x"] + end["width"] / 2
        y = end["y"] + (min(12, end["height"] / 4) if above else end["height"] / 2)
        page.mouse.move(x, y, steps=12)
        page.wait_for_timeout(250)
    page.mouse.up()


PASTE = """({text, html}) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  data.setData("text/html", html);
  document.activeElement.dispatchEvent(
    new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def _cards(list_locator):
    return list_locator.locator(":scope > .nle-block")


def test_blocks_are_added_dragged_and_written_in_place_into_the_json_the_form_sends(
    editor, browser
):
    STATE["content"] = {
        "blocks": [
            {"type": "heading", "text": "Spring news", "level": 1},
            {"type": "footer", "html": "<p>Harbour Books, 1 Quay Street</p>"},
        ]
    }
    context, page, problems = _open(browser, editor, DESKTOP)
    expect(page.locator("textarea[name=content]")).to_be_hidden()
    canvas = page.get_by_role("list", name="Blocks of the email")
    cards = _cards(canvas)
    palette = page.get_by_role("group", name="Add a block")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).get_by_role("textbox", name="Heading text")).to_have_text("Spring news")
    expect(cards.nth(0).get_by_label("Heading level")).to_have_value("1")

    # A variable needs a place to go.
    page.get_by_role("button", name="Variables").click()
    page.get_by_role("menuitem", name="Email address").click()
    expect(page.locator("[data-nle-live]")).to_have_text(
        "Click in a heading, a text or a button label first: the variable goes where the cursor is."
    )

    # Clicked in the heading, a new text goes after it; bold and a variable in the text.
    cards.nth(0).get_by_role("textbox", name="Heading text").click()
    palette.get_by_role("button", name="Text", exact=True).click()
    expect(cards).to_have_count(3)
    text = cards.nth(1).get_by_role("textbox", name="Text")
    expect(text).to_be_focused()
    page.keyboard.type("Hello ")
    page.get_by_role("button", name="Variables").click()
    page.get_by_role("menuitem", name="First name").click()
    expect(page.get_by_role("menu")).to_be_hidden()
    page.keyboard.type("!")
    page.keyboard.press("Enter")
    bold = cards.nth(1).get_by_role("button", name="Bold")
    bold.click()
    page.keyboard.type("Big")
    expect(bold).to_have_attribute("aria-pressed", "true")
    bold.click()
    page.keyboard.type(" news")
    expect(text).to_contain_text("Hello {{ first_name }}!")

    # A button after the text, its label with a variable inserted at the cursor.
    palette.get_by_role("button", name="Button", exact=True).click()
    button = cards.nth(2)
    expect(button.get_by_label("Label")).to_be_focused()
    page.keyboard.type("Shop now, ")
    page.get_by_role("button", name="Variables").click()
    page.get_by_role("menuitem", name="First name").click()
    button.get_by_label("Link").fill("https://example.com/sale")
    button.get_by_label("Alignment").select_option("left")
    expect(button.locator(".nle-button-look")).to_have_text("Shop now, {{ first_name }}")

    # Two columns after the button: a heading dragged from the panel into the first one,
    # a text added to the second from its own menu.
    palette.get_by_role("button", name="2 columns").click()
    columns = cards.nth(3)
    first, second = (_cards(columns.locator(".nle-inner").nth(n)) for n in (0, 1))
    _drag(
        page,
        palette.get_by_role("button", name="Heading", exact=True),
        columns.locator(".nle-inner").nth(0),
    )
    expect(first).to_have_count(1)
    expect(first.nth(0).get_by_role("textbox", name="Heading text")).to_be_focused()
    page.keyboard.type("Left column")
    columns.get_by_label("Add a block to this column").nth(1).select_option("text")
    expect(second.nth(0).get_by_role("textbox", name="Text")).to_be_focused()
    page.keyboard.type("Right side")
    # Pasted with its colours and emphasis, it comes as plain text.
    page.evaluate(
        PASTE, {"text": " & more", "html": '<span style="color:red"> &amp; <i>more</i></span>'}
    )

    # The button dragged by its handle above the text.
    _drag(page, button.locator(".nle-handle"), cards.nth(1), above=True)
    expect(cards.nth(1)).to_have_attribute("data-type", "button")
    expect(cards.nth(2)).to_have_attribute("data-type", "text")

    # With the keyboard: down and back up, the focus staying on the button pressed.
    move_down = cards.nth(1).get_by_role("button", name="Move down")
    move_down.focus()
    page.keyboard.press("Enter")
    expect(cards.nth(2)).to_have_attribute("data-type", "button")
    expect(page.locator("[data-nle-live]")).to_have_text("Moved to position 3 of 5.")
    expect(cards.nth(2).get_by_role("button", name="Move down")).to_be_focused()
    cards.nth(2).get_by_role("button", name="Move up").click()
    expect(cards.nth(1)).to_have_attribute("data-type", "button")
    expect(cards.nth(0).get_by_role("button", name="Move up")).to_have_attribute(
        "aria-disabled", "true"
    )

    # A link on the footer's whole text, from the toolbar.
    footer_text = cards.nth(4).get_by_role("textbox", name="Footer text")
    footer_text.click()
    page.keyboard.press("ControlOrMeta+a")
    cards.nth(4).get_by_role("button", name="Link", exact=True).click()
    cards.nth(4).get_by_label("Link address").fill("https://harbour.example/")
    page.keyboard.press("Enter")
    expect(footer_text.get_by_role("link", name="Harbour Books, 1 Quay Street")).to_have_attribute(
        "href", "https://harbour.example/"
    )

    # Deleting the footer, then undoing it.
    cards.nth(4).get_by_role("button", name="Delete").click()
    expect(cards).to_have_count(4)
    assert [block["type"] for block in _json(page)["blocks"]] == [
        "heading",
        "button",
        "text",
        "columns",
    ]
    expect(page.locator("[data-nle-undo]")).to_contain_text("Footer deleted.")
    page.get_by_role("button", name="Undo").click()
    expect(cards).to_have_count(5)
    expect(page.locator("[data-nle-undo]")).to_be_hidden()

    expected = {
        "blocks": [
            {"type": "heading", "text": "Spring news", "level": 1},
            {
                "type": "button",
                "label": "Shop now, {{ first_name }}",
                "href": "https://example.com/sale",
                "align": "left",
            },
            {"type": "text", "html": "<p>Hello {{ first_name }}!</p><p><b>Big</b> news</p>"},
            {
                "type": "columns",
                "columns": [
                    {"blocks": [{"type": "heading", "text": "Left column", "level": 2}]},
                    {"blocks": [{"type": "text", "html": "<p>Right side &amp; more</p>"}]},
                ],
            },
            {
                "type": "footer",
                "html": '<p><a href="https://harbour.example/">'
                "Harbour Books, 1 Quay Street</a></p>",
            },
        ]
    }
    assert _json(page) == expected
    # Exactly what the server keeps of it: the shared schema has nothing to change.
    assert clean_content(expected) == expected

    # The live preview follows the editor, after a pause in the typing.
    page.get_by_role("button", name="Live preview").click()
    email = page.frame_locator("iframe[title='Preview of the email']")
    expect(email.get_by_role("heading", name="Spring news")).to_be_visible()
    expect(email.get_by_role("link", name="Shop now, {{ first_name }}")).to_be_visible()
    cards.nth(0).get_by_role("textbox", name="Heading text").click()
    page.keyboard.press("End")
    page.keyboard.type(" is here")
    expect(email.get_by_role("heading", name="Spring news is here")).to_be_visible()
    assert STATE["previews"][-1]["blocks"][0]["text"] == "Spring news is here"
    page.mouse.click(5, 5)
    shot(page, "newsletter-editor-desktop")
    page.get_by_role("button", name="Phone").click()
    expect(page.locator("iframe[title='Preview of the email']")).to_have_css("width", "375px")

    # Saved with the page's form, it comes back the same.
    expected["blocks"][0]["text"] = "Spring news is here"
    page.get_by_role("button", name="Save").click()
    expect(cards).to_have_count(5)
    assert STATE["saved"] == [expected]
    assert _json(page) == expected

    # Columns never go into columns: dropped there, they land beside them.
    inner = _cards(page.locator(".nle-inner").nth(1))
    _drag(page, palette.get_by_role("button", name="3 columns"), inner.nth(0))
    expect(cards).to_have_count(6)
    blocks = _json(page)["blocks"]
    assert [block["type"] for block in blocks].count("columns") == 2
    assert not [
        block
        for outer in blocks
        for column in outer.get("columns", [])
        for block in column["blocks"]
        if block["type"] == "columns"
    ]
    assert problems == []
    context.close()


def test_on_a_phone_the_panel_is_a_strip_above_the_blocks_and_problems_show_at_their_block(
    editor, browser
):
    image = f"{editor['base']}/static/panel/favicon.svg"
    STATE["content"] = {
        "blocks": [
            {"type": "image", "src": image, "alt": "Our shop", "href": "", "width": 120},
            {"type": "heading", "text": "Hello {{ first_name }}", "level": 2},
            {
                "type": "text",
                "html": "<p>New books are in.</p><ul><li>Novels</li><li>Maps</li></ul>",
            },
            {
                "type": "button",
                "label": "See them",
                "href": "https://example.com",
                "align": "center",
            },
            {"type": "divider"},
            {
                "type": "columns",
                "columns": [
                    {"blocks": [{"type": "text", "html": "<p>Open every day</p>"}]},
                    {"blocks": []},
                ],
            },
            {"type": "social", "links": [{"network": "mastodon", "href": "not a link"}]},
            {"type": "html", "html": "<p><strong>Hours</strong>: 9 to 18</p>"},
            {"type": "footer", "html": "<p>Harbour Books</p>"},
        ]
    }
    STATE["problems"] = [
        {"field": "content.blocks.6.links.0.href", "message": "Enter a web address."}
    ]
    context, page, problems = _open(browser, editor, PHONE, is_mobile=True, has_touch=True)
    canvas = page.get_by_role("list", name="Blocks of the email")
    cards = _cards(canvas)
    expect(cards).to_have_count(9)
    palette = page.get_by_role("group", name="Add a block")
    assert (
        palette.bounding_box()["y"] + palette.bounding_box()["height"] <= canvas.bounding_box()["y"]
    )
    expect(cards.nth(0).get_by_role("img", name="Our shop")).to_be_visible()

    social = cards.nth(6)
    address = social.get_by_label("Address")
    expect(social).to_contain_text("Enter a web address.")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_accessible_description(re.compile("Enter a web address."))
    address.fill("https://mastodon.social/@harbour")
    expect(social).not_to_contain_text("Enter a web address.")

    # A tap on the strip adds after the selected block.
    cards.nth(1).get_by_role("textbox", name="Heading text").tap()
    palette.get_by_role("button", name="Divider").tap()
    expect(cards.nth(2)).to_have_attribute("data-type", "divider")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
    page.get_by_role("button", name="Delete").nth(2).tap()
    page.locator("[data-nle-undo]").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "newsletter-editor-phone")

    blocks = _json(page)["blocks"]
    assert blocks[6] == {
        "type": "social",
        "links": [{"network": "mastodon", "href": "https://mastodon.social/@harbour"}],
    }
    assert blocks[0]["width"] == 120
    assert blocks[2]["html"] == "<p>New books are in.</p><ul><li>Novels</li><li>Maps</li></ul>"
    assert clean_content(_json(page)) == _json(page)
    assert problems == []
    context.close()


def test_without_javascript_the_content_is_edited_as_json(editor, browser):
    STATE["content"] = {"blocks": [{"type": "heading", "text": "Spring news", "level": 1}]}
    context, page, _ = _open(browser, editor, DESKTOP, java_script_enabled=False)
    source = page.get_by_label("Content (JSON)")
    expect(source).to_be_visible()
    expect(page.get_by_role("group", name="Add a block")).to_be_hidden()
    source.fill('{"blocks": [{"type": "divider"}]}')
    page.get_by_role("button", name="Save").click()
    assert STATE["saved"] == [{"blocks": [{"type": "divider"}]}]
    context.close()


def test_content_it_cannot_read_stays_json_and_a_locked_form_shows_the_blocks_only(editor, browser):
    STATE["content"] = '{"blocks": [{"type": "heading", "text": "Cut'
    context, page, problems = _open(browser, editor, DESKTOP)
    expect(
        page.get_by_text("This content could not be opened in the block editor.")
    ).to_be_visible()
    expect(page.get_by_label("Content (JSON)")).to_have_value(STATE["content"])
    expect(page.get_by_role("group", name="Add a block")).to_be_hidden()

    # A campaign no longer a draft: the page disables its fieldset, the editor follows.
    STATE.update(content={"blocks": [{"type": "text", "html": "<p>Sent</p>"}]}, locked=True)
    page.reload()
    text = page.get_by_role("textbox", name="Text")
    expect(text).to_have_attribute("contenteditable", "false")
    expect(page.get_by_role("group", name="Add a block")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete")).to_be_hidden()
    expect(page.locator("textarea[name=content]")).to_be_hidden()
    assert problems == []
    context.close()
