"""The copy of a job's input its status message hosts, and what RunComfy fetches."""

from __future__ import annotations

from bot.domain import ImageFacts
from bot.images import PreparedImage
from bot.images.hosting import input_copy

FACTS = ImageFacts(filename="cat.jpg", format="JPEG", width=800, height=600, size_bytes=3)
SOURCE = "https://cdn.example/cat.jpg"
HOSTED = "https://cdn.example/input-7.jpeg"


def prepared(data: bytes | None) -> PreparedImage:
    return PreparedImage(facts=FACTS, data=data, content_type="image/jpeg")


def test_an_image_used_as_sent_is_hosted_and_fetched_from_its_source() -> None:
    copy = input_copy(7, prepared(None), b"abc", upload_limit=10)
    assert (copy.filename, copy.data, copy.missing) == ("input-7.jpeg", b"abc", False)
    assert copy.fetched_from(HOSTED, SOURCE) == SOURCE


def test_an_image_used_as_sent_goes_on_without_a_copy_over_the_upload_limit() -> None:
    copy = input_copy(7, prepared(None), b"abcdef", upload_limit=5)
    assert copy.data is None and not copy.missing
    assert copy.fetched_from(None, SOURCE) == SOURCE


def test_a_fitted_image_is_hosted_and_fetched_from_its_copy() -> None:
    copy = input_copy(7, prepared(b"fit"), b"original bytes", upload_limit=10)
    assert copy.data == b"fit" and not copy.missing
    assert copy.fetched_from(HOSTED, SOURCE) == HOSTED
    # Its copy's URL unknown (the attachment not found): the source, as a last resort.
    assert copy.fetched_from(None, SOURCE) == SOURCE


def test_a_fitted_image_over_the_upload_limit_is_missing() -> None:
    copy = input_copy(7, prepared(b"fitted bytes"), b"abc", upload_limit=5)
    assert copy.data is None and copy.missing
