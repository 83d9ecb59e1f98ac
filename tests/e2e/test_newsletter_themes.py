"""Each built-in theme's starter email as a mail program shows it, on a desktop (the
600 px card in a wide window) and on a phone (390 px), where columns stack. Screenshots go
to tests/e2e/screenshots/newsletter-theme-<key>-{desktop,phone}.png."""

import pytest

from newsletter import rendering

from .conftest import shot

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1000, "height": 900}, "phone": {"width": 390, "height": 844}}


def starter_email(key: str) -> str:
    return rendering.render_email(
        content=rendering.theme_for(key).starter,
        theme=key,
        variables={"email": "ada@example.com"},
        title="Our June letter",
        preview_text="What is new this month",
        unsubscribe_url="https://panel.example/n/unsubscribe/abc/",
        preferences_url="https://panel.example/n/preferences/abc/",
        utm={"source": "newsletter", "medium": "email", "campaign": "june"},
    ).html


def column_boxes(page):
    """The boxes of the starter's story columns, the ones whose heading says "story"."""
    return page.evaluate(
        """() => [...document.querySelectorAll('h3')]
            .filter(h => /story/i.test(h.textContent))
            .map(h => h.closest('.mj-outlook-group-fix').getBoundingClientRect())
            .map(r => ({x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width)}))"""
    )


@pytest.mark.parametrize("key", list(rendering.THEMES))
def test_theme_starter_on_desktop_and_phone(browser, key):
    html = starter_email(key)
    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport)
        page.set_content(html)
        card = page.evaluate(
            "() => Math.round(document.querySelector('.nl-pad').closest('table')"
            ".getBoundingClientRect().width)"
        )
        boxes = column_boxes(page)
        assert len(boxes) >= 2
        if size == "desktop":
            assert card <= 600
            # Side by side: one row.
            assert len({box["y"] for box in boxes}) == 1
        else:
            assert card <= 390
            # Stacked: each below the other, the width of the card.
            assert len({box["y"] for box in boxes}) == len(boxes)
        assert page.get_by_role("link", name="Unsubscribe").is_visible()
        shot(page, f"newsletter-theme-{key}-{size}")
        page.close()
