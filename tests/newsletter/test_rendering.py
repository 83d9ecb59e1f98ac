"""The email pipeline without a database: the block schema and its sanitising, the Liquid
sandbox, variables written with a contact's values and escaped, UTM parameters and the
click rewrite on the right links, the plain-text part, and the problems shown before a
campaign may be scheduled."""

import re

import html5lib
import pytest

from newsletter import rendering
from newsletter.rendering.variables import TemplateError
from panel.errors import InvalidInput

UNSUBSCRIBE = "https://panel.example/n/unsubscribe/tok?c=7&s=abc"
PREFERENCES = "https://panel.example/n/preferences/tok/"
UTM = {"source": "newsletter", "medium": "email", "campaign": "june"}


def render(blocks, variables=None, **overrides):
    arguments = {
        "content": {"blocks": blocks},
        "theme": "classic",
        "variables": {"email": "ada@example.com", **(variables or {})},
        "title": "June",
        "preview_text": "",
        "unsubscribe_url": UNSUBSCRIBE,
        "preferences_url": PREFERENCES,
        "utm": UTM,
    }
    return rendering.render_email(**{**arguments, **overrides})


def hrefs(html):
    return [href.replace("&amp;", "&") for href in re.findall(r'<a\b[^>]*\shref="([^"]*)"', html)]


def text(html):
    return {"type": "text", "html": html}


# -- the block schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("content", [{}, {"blocks": []}, None])
def test_an_empty_content_is_a_valid_draft(content):
    assert rendering.clean_content(content) == {"blocks": []}


def test_every_problem_of_the_content_is_named_at_once_by_its_path():
    content = {
        "blocks": [
            {"type": "heading", "text": " ", "level": 4},
            text("<p>fine</p>"),
            {"type": "button", "label": "Go", "href": "javascript:alert(1)"},
            {"type": "image", "src": "data:image/png;base64,AAAA", "width": 900},
            {
                "type": "columns",
                "columns": [
                    {"blocks": [{"type": "button", "label": "", "href": "https://ok.example"}]},
                    {"blocks": [{"type": "columns", "columns": []}]},
                ],
            },
            {"type": "marquee"},
            {"type": "social", "links": [{"network": "myspace", "href": "/relative"}]},
            {"type": "columns", "columns": [{"blocks": []}]},
            {"type": "button", "label": "Go", "href": "www.example.com", "align": "middle"},
        ]
    }
    with pytest.raises(InvalidInput) as error:
        rendering.clean_content(content)
    assert set(error.value.fields) == {
        "content.blocks.0.text",
        "content.blocks.0.level",
        "content.blocks.2.href",
        "content.blocks.3.src",
        "content.blocks.3.width",
        "content.blocks.4.columns.0.blocks.0.label",
        "content.blocks.4.columns.1.blocks.0.type",
        "content.blocks.5.type",
        "content.blocks.6.links.0.network",
        "content.blocks.6.links.0.href",
        "content.blocks.7.columns",
        "content.blocks.8.href",
        "content.blocks.8.align",
    }
    assert error.value.fields["content.blocks.4.columns.1.blocks.0.type"] == [
        "Columns cannot be put inside columns."
    ]


def test_image_width_bounds_and_addresses():
    image = {"type": "image", "src": "https://cdn.example/a.png", "alt": "A"}
    for width in (600, 20):
        assert rendering.clean_content({"blocks": [{**image, "width": width}]})
    for width in (601, 19, "300", True):
        with pytest.raises(InvalidInput) as error:
            rendering.clean_content({"blocks": [{**image, "width": width}]})
        assert list(error.value.fields) == ["content.blocks.0.width"]
    with pytest.raises(InvalidInput) as error:
        rendering.clean_content({"blocks": [{**image, "src": "mailto:a@example.com"}]})
    assert list(error.value.fields) == ["content.blocks.0.src"]


def test_link_variables_and_mailto_are_accepted_as_addresses():
    cleaned = rendering.clean_content(
        {
            "blocks": [
                {"type": "button", "label": "Leave", "href": "{{ unsubscribe_url }}"},
                {"type": "button", "label": "Write", "href": "mailto:hello@example.com"},
            ]
        }
    )
    assert [block["href"] for block in cleaned["blocks"]] == [
        "{{ unsubscribe_url }}",
        "mailto:hello@example.com",
    ]


def test_text_and_raw_html_lose_scripts_handlers_and_bad_links_when_saved():
    cleaned = rendering.clean_content(
        {
            "blocks": [
                text(
                    '<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:x()">'
                    'j</a> <a href="https://ok.example/">ok</a><img src="https://t.example/p.png">'
                    "</p>"
                ),
                {
                    "type": "html",
                    "html": '<table onmouseover="x()"><tr><td style="color:red">cell</td></tr>'
                    '</table><iframe src="https://x.example"></iframe>'
                    '<img src="https://c.example/a.png" onerror="x()">',
                },
            ],
            "extra": "dropped",
        }
    )
    text_html, raw_html = (block["html"] for block in cleaned["blocks"])
    for html in (text_html, raw_html):
        assert "script" not in html and "onclick" not in html and "on" + "error" not in html
        assert "javascript" not in html and "iframe" not in html and "style" not in html
    assert '<a href="https://ok.example/">ok</a>' in text_html
    assert "<img" not in text_html
    assert "<td>cell</td>" in raw_html and '<img src="https://c.example/a.png">' in raw_html
    assert set(cleaned) == {"blocks"}


def test_unknown_keys_of_a_block_are_dropped_and_defaults_filled():
    cleaned = rendering.clean_content(
        {"blocks": [{"type": "button", "label": "Go", "href": "https://x.example", "x": 1}]}
    )
    assert cleaned == {
        "blocks": [
            {"type": "button", "label": "Go", "href": "https://x.example", "align": "center"}
        ]
    }


# -- the sandbox ---------------------------------------------------------------------------------


def test_render_string_escapes_values_in_html_but_not_the_text_around_them():
    values = {"first_name": "<b>Ada</b> & co"}
    assert (
        rendering.render_string("<p>Hi {{ first_name }}</p>", values, as_html=True)
        == "<p>Hi &lt;b&gt;Ada&lt;/b&gt; &amp; co</p>"
    )
    assert rendering.render_string("Hi {{ first_name | upcase }}", values) == "Hi <B>ADA</B> & CO"


def test_the_sandbox_refuses_unknown_names_loops_includes_and_the_safe_filter():
    with pytest.raises(TemplateError, match="frist_name"):
        rendering.render_string("{{ frist_name }}", {"first_name": "Ada"})
    for source in (
        "{% for x in (1..3) %}x{% endfor %}",
        "{% include 'secrets' %}",
        "{% render 'secrets' %}",
        "{% assign a = 1 %}",
    ):
        with pytest.raises(TemplateError, match="unexpected tag"):
            rendering.render_string(source, {})
    with pytest.raises(TemplateError, match="safe"):
        rendering.render_string("{{ x | safe }}", {"x": "<script>"}, as_html=True)


def test_a_value_that_is_an_object_shows_only_its_text():
    class Secretive:
        password = "hunter2"

        def __str__(self):
            return "visible"

    assert rendering.render_string("{{ o }}", {"o": Secretive()}) == "visible"
    with pytest.raises(TemplateError):
        rendering.render_string("{{ o.password }}", {"o": Secretive()})


def test_unknown_variables_of_content_and_of_texts():
    content = {
        "blocks": [
            {"type": "heading", "text": "Hi {{ frist_name }}", "level": 1},
            {
                "type": "columns",
                "columns": [
                    {"blocks": [text("<p>{{ seat }} {{ city | upcase }}</p>")]},
                    {"blocks": [{"type": "button", "label": "{{ email }}", "href": "{{ site }}"}]},
                ],
            },
        ]
    }
    assert rendering.unknown_variables(content, {"first_name", "seat"}) == [
        "city",
        "frist_name",
        "site",
    ]
    assert rendering.unknown_variables(["{{ a }} {{ email }}", "{{ broken"], {"b"}) == ["a"]


# -- rendering -----------------------------------------------------------------------------------


def test_variables_take_the_contact_values_escaped_in_the_html():
    rendered = render(
        [
            {"type": "heading", "text": "Hello {{ first_name }}", "level": 1},
            text('<p>Dear {{ first_name | default: "friend" }}, your seat: {{ seat }}.</p>'),
            {"type": "button", "label": "For {{ first_name }}", "href": "https://shop.example/"},
        ],
        {"first_name": "<script>alert(1)</script>", "seat": "Balcony"},
        title="News for {{ first_name }}",
        preview_text="A seat in the {{ seat }}",
    )
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(rendered.html)
    assert tree.findall(".//script") == []
    assert rendered.html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    assert "your seat: Balcony." in rendered.html
    assert "A seat in the Balcony" in rendered.html
    # A subject is a header, not HTML.
    assert rendered.subject == "News for <script>alert(1)</script>"
    assert "Dear <script>alert(1)</script>, your seat: Balcony." in rendered.text


def test_an_empty_value_writes_nothing_and_default_fills_it():
    rendered = render(
        [text('<p>Dear {{ first_name | default: "friend" }}!</p><p>[{{ first_name }}]</p>')],
        {"first_name": ""},
    )
    assert "Dear friend!" in rendered.text and "[]" in rendered.text


def test_a_variable_the_contact_lacks_is_an_error_with_its_path():
    with pytest.raises(InvalidInput) as error:
        render(
            [{"type": "columns", "columns": [{"blocks": [text("<p>{{ frist_name }}</p>")]}] * 2}],
            {"first_name": "Ada"},
        )
    assert error.value.fields["content.blocks.0.columns.0.blocks.0.html"] == [
        "There is no variable “frist_name”; did you mean “first_name”?"
    ]


def test_every_web_link_gets_utm_but_not_the_leave_links_nor_mailto():
    rendered = render(
        [
            text(
                '<p><a href="https://shop.example/sale?ref=7&amp;utm_source=partner#top">Sale</a> '
                '<a href="mailto:hello@example.com">Write to us</a> '
                '<a href="{{ preferences_url }}">Your preferences</a></p>'
            ),
            {"type": "button", "label": "Book", "href": "https://tickets.example"},
            {
                "type": "image",
                "src": "https://cdn.example/p.png",
                "alt": "",
                "href": "http://a.example/x",
            },
            {"type": "social", "links": [{"network": "mastodon", "href": "https://m.example/@us"}]},
        ]
    )
    links = hrefs(rendered.html)
    assert (
        "https://shop.example/sale?ref=7&utm_source=partner&utm_medium=email&utm_campaign=june#top"
        in links
    )
    assert (
        "https://tickets.example/?utm_source=newsletter&utm_medium=email&utm_campaign=june" in links
    )
    assert "http://a.example/x?utm_source=newsletter&utm_medium=email&utm_campaign=june" in links
    assert "https://m.example/@us?utm_source=newsletter&utm_medium=email&utm_campaign=june" in links
    assert "mailto:hello@example.com" in links
    assert links.count(UNSUBSCRIBE) == 1
    assert links.count(PREFERENCES) == 2
    assert not [
        link for link in links if "utm_" in link and link.startswith(("mailto", "https://panel"))
    ]
    # Images are not links to decorate.
    assert 'src="https://cdn.example/p.png"' in rendered.html


def test_empty_utm_values_add_nothing():
    rendered = render(
        [{"type": "button", "label": "Book", "href": "https://tickets.example/a"}],
        utm={"source": "letter", "medium": "", "campaign": None},
    )
    assert "https://tickets.example/a?utm_source=letter" in hrefs(rendered.html)


def test_rewrite_link_comes_after_utm_and_spares_the_leave_links():
    seen = []

    def track(url):
        seen.append(url)
        return "https://panel.example/c/" + str(len(seen))

    rendered = render(
        [{"type": "button", "label": "Book", "href": "https://tickets.example/"}],
        rewrite_link=track,
    )
    assert seen == [
        "https://tickets.example/?utm_source=newsletter&utm_medium=email&utm_campaign=june"
    ]
    links = hrefs(rendered.html)
    assert "https://panel.example/c/1" in links
    assert UNSUBSCRIBE in links and PREFERENCES in links
    assert "Book (https://panel.example/c/1)" in rendered.text


def test_the_text_part_keeps_links_readable_and_the_unsubscribe_link():
    rendered = render(
        [
            text(
                '<p>Our <a href="https://shop.example/">shop</a> is open.</p><ul><li>One</li>'
                "<li>Two</li></ul>"
            ),
            {"type": "button", "label": "Write", "href": "mailto:hello@example.com"},
        ],
        utm={},
    )
    assert "Our shop (https://shop.example/) is open." in rendered.text
    assert "* One" in rendered.text and "* Two" in rendered.text
    assert "Write (hello@example.com)" in rendered.text
    assert f"Unsubscribe ({UNSUBSCRIBE})" in rendered.text
    assert f"({PREFERENCES})" in rendered.text


def test_raw_html_stored_without_cleaning_is_still_sanitised_when_rendered():
    rendered = render(
        [{"type": "html", "html": '<div onclick="x()">Hi<script>steal()</script></div>'}]
    )
    assert "steal" not in rendered.html and "onclick" not in rendered.html
    assert "Hi" in rendered.text


def test_a_value_cannot_turn_a_link_into_javascript():
    rendered = render(
        [
            text('<p><a href="{{ site }}">My site</a></p>'),
            {"type": "button", "label": "Site", "href": "{{ site }}"},
        ],
        {"site": "javascript:alert(1)"},
    )
    assert "javascript" not in rendered.html
    assert "My site" in rendered.text


def test_the_footer_is_muted_and_always_ends_with_the_leave_links():
    rendered = render(
        [{"type": "footer", "html": "<p>Théâtre du Jorat, Mézières</p>"}, text("<p>Body</p>")]
    )
    assert rendered.text.index("Body") < rendered.text.index("Théâtre du Jorat")
    assert rendered.text.index("Théâtre du Jorat") < rendered.text.index("Unsubscribe")
    without_footer = render([text("<p>Body</p>")])
    assert UNSUBSCRIBE in hrefs(without_footer.html) and PREFERENCES in hrefs(without_footer.html)


# -- problems before scheduling ------------------------------------------------------------------


def test_problems_name_unknown_variables_and_mistakes_with_their_fields():
    found = rendering.problems(
        content={
            "blocks": [
                {"type": "heading", "text": "Hi {{ frist_name }}", "level": 1},
                text("<p>{{ first_name }} {{ email }} {{ unsubscribe_url }}</p>"),
                {
                    "type": "columns",
                    "columns": [
                        {"blocks": [text("<p>{{ seat </p>")]},
                        {
                            "blocks": [
                                {
                                    "type": "button",
                                    "label": "{{ seat | nope }}",
                                    "href": "https://x.example",
                                }
                            ]
                        },
                    ],
                },
            ]
        },
        title="{% for a in b %}{% endfor %}",
        preview_text="Hello {{ town }}",
        known_keys={"first_name", "seat"},
    )
    by_field = {problem["field"]: problem["message"] for problem in found}
    assert set(by_field) == {
        "title",
        "preview_text",
        "content.blocks.0.text",
        "content.blocks.2.columns.0.blocks.0.html",
        "content.blocks.2.columns.1.blocks.0.label",
    }
    assert by_field["content.blocks.0.text"] == (
        "There is no variable “frist_name”; did you mean “first_name”?"
    )
    assert by_field["preview_text"] == "There is no variable “town”."
    assert "for" in by_field["title"]
    assert "nope" in by_field["content.blocks.2.columns.1.blocks.0.label"]


def test_no_problem_in_a_clean_campaign():
    assert (
        rendering.problems(
            content=rendering.theme_for("bold").starter,
            title="Hello {{ first_name }}",
            preview_text="",
            known_keys={"first_name"},
        )
        == []
    )


def test_problems_include_content_that_is_not_valid():
    found = rendering.problems(
        content={"blocks": [{"type": "button", "label": "Go", "href": "ftp://x"}]},
        title="T",
        preview_text="",
        known_keys=set(),
    )
    assert [problem["field"] for problem in found] == ["content.blocks.0.href"]
