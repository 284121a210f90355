"""A corpus of hostile attachments and prompts: each gets a clear answer, none is sent."""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, state_of, status_message
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG claiming any size, with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@dataclass
class Hostile:
    name: str
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)


def corpus() -> list[Hostile]:
    photo = encode(Image.effect_noise((640, 480), 40).convert("RGB"), "JPEG")
    good_png = png()
    frames = [Image.new("RGB", (400, 400), c) for c in ("red", "blue")]
    animated_webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    return [
        Hostile("empty", b"", {"size": 1}),
        Hostile("png magic then garbage", b"\x89PNG\r\n\x1a\n" + os.urandom(4000)),
        Hostile("jpeg magic then text", b"\xff\xd8\xff\xe0" + b"hello" * 500),
        Hostile("text renamed png", b"just some words\n" * 300),
        Hostile("html", b"<!doctype html><html><body>hi</body></html>" * 50),
        Hostile("zip", b"PK\x03\x04" + os.urandom(3000)),
        Hostile("elf binary", b"\x7fELF\x02\x01\x01" + os.urandom(3000)),
        Hostile("random bytes", os.urandom(200_000)),
        Hostile(
            "mp4 video", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(5000)
        ),
        Hostile(
            "svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
            b'width="800" height="600"><rect width="800" height="600"/></svg>',
        ),
        Hostile("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(2000)),
        Hostile("avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + os.urandom(2000)),
        Hostile("pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF"),
        Hostile(
            "pdf declared as png",
            b"%PDF-1.4\n" + os.urandom(2000),
            {"content_type": "image/png", "width": 800, "height": 600},
        ),
        Hostile("bmp", encode(Image.new("RGB", (640, 480)), "BMP")),
        Hostile("tiff", encode(Image.new("RGB", (640, 480)), "TIFF")),
        Hostile("ico", encode(Image.new("RGB", (64, 64)), "ICO")),
        Hostile("decompression bomb", png_header(40_000, 40_000)),
        Hostile("huge dimensions", png_header(70_000, 30_000)),
        Hostile("truncated png", good_png[: len(good_png) // 3]),
        Hostile("truncated jpeg", photo[: len(photo) // 2]),
        Hostile("png with a broken crc", good_png[:29] + b"\x00\x00\x00\x00" + good_png[33:]),
        Hostile("animated webp", animated_webp),
        Hostile("aspect 3:1", png(1500, 500)),
        Hostile("aspect 1:3", png(400, 1200)),
        Hostile("tiny", png(64, 64)),
        Hostile("one pixel", png(1, 1)),
        Hostile(
            "lying metadata: small image declared large",
            png(100, 100),
            {"width": 1920, "height": 1080},
        ),
        Hostile(
            "lying metadata: wide image declared square",
            png(2000, 400),
            {"width": 800, "height": 800},
        ),
        Hostile("declared as text", good_png, {"content_type": "text/plain"}),
        Hostile("no dimensions declared", good_png, {"width": None, "height": None}),
        Hostile("declared 60 MB", good_png, {"size": 60_000_000}),
        Hostile(
            "31 MB of zeros",
            b"\x00" * 31_000_000,
            {"content_type": "image/png", "width": 800, "height": 600},
        ),
    ]


async def answer_of(fake: FakeDiscord, ix: Any) -> str:
    """What the user was told: the ephemeral reply, or the ephemeral followup after a defer."""
    await fake.wait_for(
        lambda: ix.response_type == 4 or (ix.response_type == 5 and ix.followup_ids), within=10
    )
    if ix.response_type == 4:
        message = fake.messages[ix.original_id]
    else:
        assert fake.messages[ix.original_id].deleted  # no public leftover
        message = fake.messages[ix.followup_ids[0]]
    assert message.ephemeral
    return message.content


async def test_every_hostile_attachment_gets_a_clear_answer_and_nothing_is_sent(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    hostile = corpus()
    assert len(hostile) >= 30
    for case in hostile:
        meta = {"filename": f"{case.name.replace(' ', '_')}.png", **case.meta}
        ix = await discord_fake.invoke(
            "animate", image=case.data, prompt="make it move", attachment_meta=meta
        )
        text = await answer_of(discord_fake, ix)
        # Clear: says what is accepted (or what was wrong with the size or shape).
        assert any(hint in text for hint in ("PNG, JPEG, WebP or GIF", "0.4", "300 px", "MB")), (
            case.name,
            text,
        )
        assert "Traceback" not in text and "Error" not in text, (case.name, text)
    assert runcomfy_fake.submits == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 0

    # The bot still serves everyone else.
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="fine", user=discord_fake.stranger
    )
    await discord_fake.wait_for(lambda: ix.original_id, within=5)
    await discord_fake.wait_for(
        lambda: "Done" in state_of(status_message(discord_fake, ix)), within=10
    )


HOSTILE_PROMPTS = [
    "@everyone look @here",
    "<@&{role}> and <@{user}> and <@!{user}>",
    "**bold** __under__ ~~strike~~ `code` ||spoiler|| > quote\n# Heading",
    "bell\x07 null\x00 escape\x1b[31m red",
    "\u202eesrever\u202c right-to-left override",
    "zero\u200bwidth\u2060joiners",
    "[a link](https://example.com) <https://example.com>",
    "a" * 1999,
]


@pytest.mark.parametrize("raw", HOSTILE_PROMPTS)
async def test_hostile_prompts_are_cleaned_escaped_and_ping_nobody(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, raw: str
) -> None:
    prompt = raw.format(role=discord_fake.moderator_role, user=discord_fake.stranger.id)
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt=prompt)
    await discord_fake.wait_for(lambda: runcomfy_fake.submits, within=5)
    sent = runcomfy_fake.submits[0]["prompt"]
    assert not any(ch in sent for ch in "\x00\x07\x1b\u202e\u200b\u2060")
    status = status_message(discord_fake, ix)
    for embed in status.embeds:
        assert len(embed.get("description", "")) <= 4096
    assert discord_fake.pinged() == {}


async def test_a_prompt_over_the_cap_cannot_be_sent(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    with pytest.raises(ValueError, match="longer"):
        await discord_fake.invoke("animate", image=png(), prompt="x" * 6000)
