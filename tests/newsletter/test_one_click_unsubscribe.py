"""The unsubscribe URL of a campaign's List-Unsubscribe header, as mail providers and
link scanners use it: the one-click POST of RFC 8058 (no cookie, no CSRF token)
unsubscribes at once; a GET only shows the page with its button; the campaign counts
each person's unsubscribe once."""

import re

import pytest
from django.test import Client

from newsletter import links, services
from newsletter.models import (
    Campaign,
    CampaignEvent,
    Subscription,
    SubscriptionStatus,
)
from newsletter.services import subscriptions, tracking
from newsletter.services.contacts import contact_create

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def world(newsletter_world):
    """Grace receives "News" and "Events"; the "March" campaign went to "News"."""
    w = newsletter_world
    w["events"] = services.list_create(
        access=w["access"], newsletter=w["newsletter"], name="Events"
    )
    w["grace"] = contact_create(
        access=w["access"], newsletter=w["newsletter"], email="grace@example.test",
        subscriptions=[{"list": w["news"].pk}, {"list": w["events"].pk}],
    )  # fmt: skip
    w["campaign"] = Campaign.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], title="March"
    )
    w["campaign"].lists.set([w["news"]])
    w["url"] = _path(links.unsubscribe_url(w["grace"], w["campaign"]))
    return w


@pytest.fixture
def provider():
    """A mail provider's server: no cookie of ours, and CSRF enforced as in production."""
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT="")


def standing(world, contact_list) -> str:
    return Subscription.objects.get(contact=world["grace"], list=contact_list).status


def unsubscribes(world):
    return CampaignEvent.objects.filter(campaign=world["campaign"], kind="unsubscribe")


def test_the_one_click_post_unsubscribes_from_the_campaigns_lists_at_once(world, provider):
    answer = provider.post(world["url"], ONE_CLICK, content_type=FORM)
    assert answer.status_code == 200  # not a redirect, not a form
    assert answer["Content-Type"].startswith("text/plain")
    assert "You are unsubscribed" in answer.content.decode()
    assert standing(world, world["news"]) == SubscriptionStatus.UNSUBSCRIBED
    assert standing(world, world["events"]) == SubscriptionStatus.SUBSCRIBED
    [event] = unsubscribes(world)
    assert event.contact == world["grace"] and event.detail == {"via": "one-click"}


def test_the_one_click_post_may_come_as_multipart_form_data(world, provider):
    answer = provider.post(world["url"], {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert standing(world, world["news"]) == SubscriptionStatus.UNSUBSCRIBED


def test_a_get_only_shows_the_button_and_unsubscribes_nobody(world, provider):
    for method in (provider.get, provider.head):
        assert method(world["url"]).status_code == 200
    page = provider.get(world["url"]).content.decode()
    assert "Unsubscribe?" in page and "News" in page
    assert re.search(r'<form method="post"[^>]*data-testid="unsubscribe-form"', page)
    assert "<button" in page
    assert standing(world, world["news"]) == SubscriptionStatus.SUBSCRIBED
    assert not unsubscribes(world).exists()


def test_two_posts_count_one_unsubscribe(world, provider):
    assert provider.post(world["url"], ONE_CLICK, content_type=FORM).status_code == 200
    assert provider.post(world["url"], ONE_CLICK, content_type=FORM).status_code == 200
    assert provider.post(world["url"]).status_code == 200  # the page's button, afterwards
    assert unsubscribes(world).count() == 1


def test_the_pages_button_is_counted_as_the_page(world):
    done = Client(enforce_csrf_checks=True).post(world["url"])
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert [e.detail for e in unsubscribes(world)] == [{"via": "page"}]


def test_one_already_out_of_the_campaigns_lists_is_not_counted(world, provider):
    subscriptions.unsubscribe(world["grace"], [world["news"]])
    assert provider.post(world["url"], ONE_CLICK, content_type=FORM).status_code == 200
    assert not unsubscribes(world).exists()


def test_coming_back_and_leaving_again_through_the_same_email_counts_once(world, provider):
    provider.post(world["url"], ONE_CLICK, content_type=FORM)
    subscriptions.preferences_update(
        world["grace"], {"lists": [world["news"].pk, world["events"].pk]}
    )
    provider.post(world["url"], ONE_CLICK, content_type=FORM)
    assert standing(world, world["news"]) == SubscriptionStatus.UNSUBSCRIBED
    assert unsubscribes(world).count() == 1


def test_an_unsubscribe_link_without_a_campaign_counts_for_none(world, provider):
    url = _path(links.unsubscribe_url(world["grace"]))
    assert provider.post(url, ONE_CLICK, content_type=FORM).status_code == 200
    assert set(world["grace"].subscriptions.values_list("status", flat=True)) == {
        SubscriptionStatus.UNSUBSCRIBED
    }
    assert not CampaignEvent.objects.exists()


def test_a_campaign_of_another_newsletter_is_never_counted(world):
    other = services.newsletter_create(access=world["access"], name="Other news")
    foreign = Campaign.objects.create(organisation=world["org"], newsletter=other, title="X")
    assert tracking.record_unsubscribe(foreign.pk, world["grace"], tracking.VIA_MAILTO) is False
    assert not CampaignEvent.objects.exists()


def test_a_forged_one_click_post_is_a_404(world, provider):
    answer = provider.post(world["url"][:-3] + "xx/", ONE_CLICK, content_type=FORM)
    assert answer.status_code == 404
    assert standing(world, world["news"]) == SubscriptionStatus.SUBSCRIBED
