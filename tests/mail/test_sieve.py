"""The responder's Sieve script: what a person types cannot break out of its strings."""

from datetime import UTC, datetime, timedelta, timezone

from mail.sieve import multiline, quoted, responder_script, script_id


def test_quotes_and_backslashes_stay_inside_the_string():
    assert quoted('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'


def test_a_line_with_a_lone_dot_does_not_end_the_body():
    assert multiline("a\n.\n.b\r\nc") == "text:\na\n..\n..b\nc\n.\n"


def test_the_period_is_compared_in_utc():
    paris = timezone(timedelta(hours=1))
    script = responder_script(
        subject="Away",
        body="Back soon",
        starts_at=datetime(2026, 12, 24, 9, 0, tzinfo=paris),
        ends_at=datetime(2027, 1, 2, tzinfo=UTC),
    )
    assert '"ge" "iso8601" "2026-12-24T08:00:00"' in script
    assert '"lt" "iso8601" "2027-01-02T00:00:00"' in script
    assert script.startswith('require ["vacation", "date", "relational"];')


def test_a_new_text_gets_a_new_id():
    one = responder_script(subject="A", body="x")
    assert script_id(one) == script_id(responder_script(subject="A", body="x"))
    assert script_id(one) != script_id(responder_script(subject="B", body="x"))
