"""`capped_hello`: the one rewrite the tap may make (`--max-version`), a pure function."""

from __future__ import annotations

import pytest

from horizon.tap.proxy import capped_hello


def hello(text: bytes) -> bytes:
    return b"API\0" + len(text).to_bytes(4, "big") + text


def test_a_range_above_the_cap_is_capped_and_what_follows_is_kept() -> None:
    after = b"\x00\x00\x00\x0871\x002\x0031\x00\x00"  # startApi, sent with the hello
    assert capped_hello(hello(b"v100..226") + after, 200) == hello(b"v100..200") + after
    assert capped_hello(hello(b"v100..226 +PACEAPI"), 200) == hello(b"v100..200 +PACEAPI")
    assert capped_hello(hello(b"v226"), 200) == hello(b"v226")  # nothing at or below the cap


@pytest.mark.parametrize("text", [b"v100..187", b"v100..200"])
def test_a_range_within_the_cap_passes_untouched(text: bytes) -> None:
    assert capped_hello(hello(text), 200) == hello(text)


def test_an_incomplete_hello_waits_and_no_hello_passes() -> None:
    whole = hello(b"v100..226")
    for cut in (1, 4, 7, 8, len(whole) - 1):
        assert capped_hello(whole[:cut], 200) is None
    assert capped_hello(b"GET / HTTP/1.1\r\n", 200) == b"GET / HTTP/1.1\r\n"
    assert capped_hello(whole, None) == whole
