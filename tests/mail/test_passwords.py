"""Mailbox passwords are stored in a scheme Dovecot checks itself, prefix included."""

import pytest

from mail.passwords import SCHEMES, check_password, hash_password


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_each_scheme_keeps_its_prefix_and_checks_only_the_right_password(scheme):
    stored = hash_password("Correct-horse-42", scheme)
    assert stored.startswith(f"{{{scheme}}}")
    assert "Correct-horse-42" not in stored
    assert check_password("Correct-horse-42", stored)
    assert not check_password("correct-horse-42", stored)


def test_the_default_scheme_is_sha512_crypt(settings):
    assert hash_password("Correct-horse-42").startswith("{SHA512-CRYPT}$6$")


def test_unknown_or_bare_hashes_never_match():
    assert not check_password("x", "$6$salt$hash")
    assert not check_password("x", "{PLAIN}x")
