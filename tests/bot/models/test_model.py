"""The model layer reads everything from a model's own schema: fields, options, bounds, body."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from bot.images.bounds import ImageBounds
from bot.models.model import ModelUnusable, VideoModel, display_name, read_model
from bot.models.options import OptionKind, OptionRefused
from bot.runcomfy.wire import ModelInfo
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_15, seedance_25


def model_of(model_id: str, schema: dict[str, Any], **info: Any) -> VideoModel:
    answer = {"model_id": model_id, "input_schema": schema, **info}
    return read_model(ModelInfo.model_validate(answer))


@pytest.fixture
def seedance() -> VideoModel:
    return model_of(SEEDANCE_15, seedance_15(), base_price_usd=0.024, price_unit="second")


# --- Seedance 1.5 pro: exactly what the bot did before it read schemas -------------------

# The bodies the bot sent when Seedance 1.5 pro was written into it (SeedanceInput),
# written out: the schema-built body must be these, key for key and type for type.
BEFORE = [
    (
        {},
        {
            "prompt": "a cat yawns",
            "first_frame_image_url": "https://cdn.example/cat.png",
            "resolution": "480p",
            "ratio": "adaptive",
            "duration": 5,
            "generate_audio": True,
            "camera_fixed": True,
        },
    ),
    (
        {
            "resolution": "1080p",
            "ratio": "9:16",
            "duration": 12,
            "audio": False,
            "camera_fixed": False,
        },
        {
            "prompt": "a cat yawns",
            "first_frame_image_url": "https://cdn.example/cat.png",
            "resolution": "1080p",
            "ratio": "9:16",
            "duration": 12,
            "generate_audio": False,
            "camera_fixed": False,
        },
    ),
]


@pytest.mark.parametrize(("picked", "body"), BEFORE)
def test_the_seed_schema_builds_the_body_sent_before(
    seedance: VideoModel, picked: dict[str, Any], body: dict[str, Any]
) -> None:
    built = seedance.body("a cat yawns", "https://cdn.example/cat.png", seedance.choose(picked))
    assert built == body
    assert list(built) == list(body)  # the schema's order
    assert [type(v) for v in built.values()] == [type(v) for v in body.values()]


def test_the_seed_schema_gives_the_options_and_bounds_of_before(seedance: VideoModel) -> None:
    assert (seedance.prompt_field, seedance.image_field) == ("prompt", "first_frame_image_url")
    assert [(o.name, o.field, o.kind) for o in seedance.options] == [
        ("resolution", "resolution", OptionKind.CHOICE),
        ("ratio", "ratio", OptionKind.CHOICE),
        ("duration", "duration", OptionKind.CHOICE),
        ("audio", "generate_audio", OptionKind.SWITCH),
        ("camera_fixed", "camera_fixed", OptionKind.SWITCH),
    ]
    assert seedance.option("resolution").choices == ("480p", "720p", "1080p")  # type: ignore[union-attr]
    assert seedance.option("ratio").choices == (  # type: ignore[union-attr]
        "16:9",
        "4:3",
        "1:1",
        "3:4",
        "9:16",
        "21:9",
        "adaptive",
    )
    assert seedance.option("duration").values() == tuple(range(4, 13))  # type: ignore[union-attr]
    assert seedance.defaults() == {
        "resolution": "480p",
        "ratio": "adaptive",
        "duration": 5,
        "generate_audio": True,
        "camera_fixed": True,
    }
    assert seedance.bounds == ImageBounds(
        side_above=300,
        side_below=6000,
        min_aspect=Fraction(2, 5),
        max_aspect=Fraction(5, 2),
        max_file_bytes=30_000_000,
    )
    assert seedance.name == "Seedance v1.5 pro"
    assert seedance.resolution_in_id is None


def test_a_value_the_model_does_not_take_is_refused_with_what_it_takes(
    seedance: VideoModel,
) -> None:
    with pytest.raises(OptionRefused) as refused:
        seedance.choose({"duration": 13})
    assert refused.value.option is not None
    assert refused.value.option.values() == tuple(range(4, 13))
    with pytest.raises(OptionRefused):
        seedance.choose({"resolution": "4k"})
    with pytest.raises(OptionRefused):
        seedance.choose({"audio": "loud"})
    # Types are the schema's: "8" typed in a form is 8, True is not 1.
    assert seedance.choose({"duration": "8"})["duration"] == 8
    with pytest.raises(OptionRefused):
        seedance.choose({"duration": True})


def test_nothing_outside_the_schema_reaches_a_body(seedance: VideoModel) -> None:
    with pytest.raises(OptionRefused) as refused:
        seedance.choose({"seed": 42})
    assert refused.value.missing and refused.value.role is None
    options = {**seedance.defaults(), "seed": 42, "watermark": False}
    assert set(seedance.body("p", "u", options)) == {
        "prompt", "first_frame_image_url", "resolution", "ratio", "duration",
        "generate_audio", "camera_fixed",
    }  # fmt: skip


# --- Seedance 2.5: another shape ---------------------------------------------------------


def test_a_second_model_is_read_from_its_own_schema() -> None:
    model = model_of(SEEDANCE_25, seedance_25(), base_price_usd=0.35, price_unit="second")
    assert (model.prompt_field, model.image_field) == ("prompt", "image")
    assert [(o.name, o.kind) for o in model.options] == [
        ("duration", OptionKind.RANGE),
        ("audio", OptionKind.SWITCH),
    ]
    duration = model.option("duration")
    assert duration is not None and (duration.minimum, duration.maximum) == (4, 30)
    assert model.defaults() == {"duration": 5, "generate_audio": True}
    assert model.resolution_in_id == "720p"
    assert model.name == "Seedance 2.5 · 720p"
    # Inclusive rules are read as such: 256 and 4096 px, 0.25 and 4 themselves are fine.
    assert model.bounds.fits(256, 1024) and model.bounds.fits(4096, 4096)
    assert not model.bounds.fits(255, 300) and not model.bounds.fits(4097, 4097)
    assert model.bounds.aspect_ok(Fraction(1, 4)) and model.bounds.max_file_bytes == 20_000_000
    body = model.body("p", "https://x/i.png", model.choose({"duration": 30}))
    assert body == {
        "prompt": "p",
        "image": "https://x/i.png",
        "duration": 30,
        "generate_audio": True,
    }
    assert any("negative_prompt" in note for note in model.notes)


def test_an_option_the_model_lacks_is_refused_by_its_role() -> None:
    model = model_of(SEEDANCE_25, seedance_25())
    with pytest.raises(OptionRefused) as refused:
        model.choose({"ratio": "16:9"})
    assert refused.value.missing and refused.value.role == "ratio"
    with pytest.raises(OptionRefused):
        model.choose({"duration": 31})


def test_a_job_kind_is_its_model_and_the_options_that_change_a_render(
    seedance: VideoModel,
) -> None:
    kind = seedance.kind(seedance.choose({"ratio": "1:1"}))
    assert kind == f'{SEEDANCE_15}|resolution="480p",duration=5,audio=true'
    assert seedance.kind(seedance.choose({"ratio": "16:9"})) == kind


def test_stored_options_carry_to_another_model_where_it_takes_them(seedance: VideoModel) -> None:
    other = model_of(SEEDANCE_25, seedance_25())
    stored = seedance.choose({"duration": 8, "audio": False, "ratio": "1:1"})
    assert other.carry(stored) == {"duration": 8, "generate_audio": False}


# --- Schemas the bot cannot use ---------------------------------------------------------


def test_a_model_without_an_image_field_is_unusable() -> None:
    schema = seedance_15()
    del schema["properties"]["first_frame_image_url"]
    with pytest.raises(ModelUnusable) as unusable:
        model_of("x/text-to-video", schema)
    assert "no property takes the input image" in unusable.value.reasons[0]


def test_a_required_property_the_bot_cannot_fill_makes_a_model_unusable() -> None:
    schema = seedance_25()
    schema["properties"]["end_image"] = {"type": "string", "title": "End image"}
    schema["required"].append("end_image")
    with pytest.raises(ModelUnusable) as unusable:
        model_of("x/first-last-frame", schema)
    assert unusable.value.reasons == ("it requires `end_image`, which the bot cannot fill",)


def test_two_equally_likely_image_fields_are_not_guessed() -> None:
    schema = seedance_25()
    schema["properties"]["image_url"] = dict(schema["properties"]["image"])
    schema["properties"]["start_image"] = dict(schema["properties"]["image"])
    del schema["properties"]["image"]
    schema["required"] = ["prompt", "image_url", "start_image"]
    model = model_of("x/two-names", schema)  # a known name ranks above a weaker one
    assert model.image_field == "image_url"
    schema["properties"]["picture_image"] = dict(schema["properties"]["image_url"])
    schema["properties"]["photo_image"] = dict(schema["properties"]["image_url"])
    del schema["properties"]["image_url"], schema["properties"]["start_image"]
    schema["required"] = ["prompt", "picture_image", "photo_image"]
    with pytest.raises(ModelUnusable) as unusable:
        model_of("x/ambiguous", schema)
    assert "could take the input image" in unusable.value.reasons[0]


@pytest.mark.parametrize("raw", [None, {}, {"properties": []}, {"properties": {"a": 1}}])
def test_no_readable_schema_is_unusable(raw: object) -> None:
    with pytest.raises(ModelUnusable) as unusable:
        model_of("x/y", raw)  # type: ignore[arg-type]
    assert "no usable input schema" in unusable.value.reasons[0]


def test_odd_but_readable_properties_are_read_leniently() -> None:
    schema = seedance_25()
    props = schema["properties"]
    props["motion"] = {"type": "float", "minimum": 0, "maximum": 1, "default": 0.5}
    props["style"] = {"type": ["string", "null"], "enum": ["anime", "real", None], "default": None}
    props["strength"] = {"type": "integer", "minimum": 5, "maximum": 1}  # nonsense: ignored
    props["image"]["validations"].append({"validation_rule": "dpi>", "validation_value": 72})
    props["image"]["validations"].append({"validation_rule": "width_pixels<"})  # no value
    model = model_of("x/odd", schema)
    motion, style = model.option("motion"), model.option("style")
    assert motion is not None and motion.kind is OptionKind.RANGE and motion.default == 0.5
    assert style is not None and style.choices == ("anime", "real") and style.default is None
    assert "style" not in model.defaults()  # optional without a default: sent only if chosen
    assert model.option("strength") is None
    assert any("dpi>" in note for note in model.notes)


def test_display_names() -> None:
    assert display_name("bytedance/seedance-v1.5-pro/image-to-video") == "Seedance v1.5 pro"
    assert display_name("kling/kling-3.0/image-to-video", "Kling 3.0") == "Kling 3.0"
    assert display_name("wan-3.0") == "Wan 3.0"


# --- the prompt's length bounds ----------------------------------------------------------


def with_prompt(**bounds: Any) -> VideoModel:
    schema = seedance_25()
    schema["properties"]["prompt"].update(bounds)
    return model_of(SEEDANCE_25, schema)


def test_a_prompts_length_bounds_are_read_from_its_schema() -> None:
    model = with_prompt(maxLength=300, minLength=5)
    assert (model.prompt_min, model.prompt_max) == (5, 300)
    assert model.prompt_refusal("x" * 300) is None and model.prompt_refusal("x" * 5) is None
    long, short = model.prompt_refusal("x" * 301), model.prompt_refusal("x" * 4)
    assert long is not None and long.values == {"count": 301, "limit": 300}
    assert short is not None and short.values == {"count": 4, "limit": 5}
    assert with_prompt().prompt_refusal("x" * 2000) is None  # no bound: the bot's own


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"maxLength": -1, "minLength": -3}, (0, None)),  # nonsense: no bound
        ({"maxLength": "300", "minLength": True}, (0, None)),  # not numbers
        ({"maxLength": 1e999}, (0, None)),  # infinite
        ({"maxLength": 10**30}, (0, None)),  # past anything a prompt reaches
        ({"maxLength": 300.7, "minLength": 2.2}, (3, 300)),  # whole characters within
    ],
)
def test_nonsense_prompt_bounds_are_read_as_no_bound_or_the_whole_numbers_within(
    bounds: dict[str, Any], expected: tuple[int, int | None]
) -> None:
    model = with_prompt(**bounds)
    assert (model.prompt_min, model.prompt_max) == expected


@pytest.mark.parametrize(
    "bounds", [{"minLength": 50, "maxLength": 10}, {"maxLength": 0}, {"minLength": 10**30}]
)
def test_prompt_bounds_no_prompt_can_meet_make_the_model_unusable(bounds: dict[str, Any]) -> None:
    with pytest.raises(ModelUnusable, match="prompt"):
        with_prompt(**bounds)
