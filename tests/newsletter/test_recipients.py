"""Who a campaign goes to: subscribed to a chosen list, in an included group of a list
they are subscribed to when groups are included, never in an excluded group whatever
their status on its list, each contact once; checked case by case and against a plain
Python reading of the rule over random audiences."""

import random

import pytest

from newsletter.models import Contact, ContactGroup, ContactList, Newsletter, Subscription
from newsletter.selectors import recipient_count, recipients
from tests import factories as f

pytestmark = pytest.mark.django_db
STATUSES = ["subscribed", "unconfirmed", "unsubscribed", "bounced", "complained"]


@pytest.fixture
def lists():
    org = f.OrganisationFactory()
    newsletter = Newsletter.objects.create(organisation=org, name="Jorat news")
    made = {"org": org, "newsletter": newsletter}
    for name in ("news", "events"):
        made[name] = ContactList.objects.create(organisation=org, newsletter=newsletter, name=name)
    for name, on in (("vip", "news"), ("customers", "news"), ("press", "events")):
        made[name] = ContactGroup.objects.create(organisation=org, list=made[on], name=name)
    return made


def contact(lists, email, on=(), groups=()):
    """A contact with {list name: status} in `on` and the groups named."""
    person = Contact.objects.create(organisation=lists["org"], newsletter=lists["newsletter"],
                                    email=email, email_key=email)  # fmt: skip
    for name, status in dict(on).items():
        Subscription.objects.create(organisation=lists["org"], contact=person,
                                    list=lists[name], status=status)  # fmt: skip
    person.groups.set([lists[name] for name in groups])
    return person


def emails(world, **segment):
    found = recipients(newsletter=world["newsletter"], **segment)
    return sorted(found.values_list("email", flat=True))


def test_only_subscribed_contacts_of_the_chosen_lists_each_once(lists):
    contact(lists, "both@x.test", {"news": "subscribed", "events": "subscribed"})
    contact(lists, "news@x.test", {"news": "subscribed"})
    contact(lists, "events@x.test", {"events": "subscribed"})
    for status in STATUSES[1:]:
        contact(lists, f"{status}@x.test", {"news": status})
    contact(lists, "left-one@x.test", {"news": "unsubscribed", "events": "subscribed"})
    chosen = [lists["news"], lists["events"]]
    assert emails(lists, lists=chosen) == [
        "both@x.test", "events@x.test", "left-one@x.test", "news@x.test"
    ]  # fmt: skip
    assert recipient_count(newsletter=lists["newsletter"], lists=chosen) == 4
    assert emails(lists, lists=[lists["news"]]) == ["both@x.test", "news@x.test"]


def test_an_included_group_counts_only_on_the_list_the_contact_is_subscribed_to(lists):
    contact(lists, "vip@x.test", {"news": "subscribed"}, ["vip"])
    contact(lists, "vip-left@x.test", {"news": "unsubscribed", "events": "subscribed"}, ["vip"])
    contact(lists, "plain@x.test", {"news": "subscribed"})
    contact(lists, "press@x.test", {"events": "subscribed"}, ["press"])
    chosen = [lists["news"], lists["events"]]
    assert emails(lists, lists=chosen, include_groups=[lists["vip"]]) == ["vip@x.test"]
    assert emails(lists, lists=chosen, include_groups=[lists["vip"], lists["press"]]) == [
        "press@x.test", "vip@x.test"
    ]  # fmt: skip


def test_an_excluded_group_removes_its_members_whatever_their_status_on_its_list(lists):
    contact(lists, "press-left@x.test", {"news": "subscribed", "events": "unsubscribed"},
            ["press"])  # fmt: skip
    contact(lists, "vip-press@x.test", {"news": "subscribed"}, ["vip", "press"])
    contact(lists, "vip@x.test", {"news": "subscribed"}, ["vip"])
    segment = {"lists": [lists["news"]], "exclude_groups": [lists["press"]]}
    assert emails(lists, **segment) == ["vip@x.test"]
    assert emails(lists, **segment, include_groups=[lists["vip"]]) == ["vip@x.test"]


def test_the_rule_agrees_with_a_plain_reading_over_random_audiences(lists):
    rng = random.Random(20261203)
    names = ["news", "events"]
    groups = {"vip": "news", "customers": "news", "press": "events"}
    people = {}
    for n in range(300):
        on = {name: rng.choice(STATUSES) for name in names if rng.random() < 0.7}
        member = [g for g in groups if rng.random() < 0.3]
        people[f"p{n}@x.test"] = (on, member)
        contact(lists, f"p{n}@x.test", on, member)
    for _ in range(25):
        chosen = rng.sample(names, rng.randint(1, 2))
        include = [g for g in groups if groups[g] in chosen and rng.random() < 0.4]
        exclude = [g for g in groups if rng.random() < 0.3]
        expected = sorted(
            email for email, (on, member) in people.items()
            if any(on.get(name) == "subscribed" for name in chosen)
            and (not include or any(g in member and on.get(groups[g]) == "subscribed"
                                    for g in include))
            and not any(g in member for g in exclude)
        )  # fmt: skip
        assert emails(
            lists, lists=[lists[name] for name in chosen],
            include_groups=[lists[g] for g in include], exclude_groups=[lists[g] for g in exclude],
        ) == expected, (chosen, include, exclude)  # fmt: skip
