"""The fake RunComfy holds each model to its own schema: what the model tests rely on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.harness import RUNCOMFY_TOKEN
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_15, seedance_25

IMAGE = "https://cdn.example/cat.png"


async def submit(fake: FakeRunComfy, model_id: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        return await http.post(
            f"/v1/models/{model_id}",
            json=body,
            headers={"Authorization": f"Bearer {RUNCOMFY_TOKEN}"},
        )


@pytest.mark.parametrize(
    ("model_id", "body", "field"),
    [
        (SEEDANCE_15, {"prompt": "p", "first_frame_image_url": IMAGE, "seed": 1}, "seed"),
        (SEEDANCE_15, {"prompt": "p", "first_frame_image_url": IMAGE, "duration": 13}, "duration"),
        (SEEDANCE_15, {"prompt": "p", "first_frame_image_url": IMAGE, "duration": "5"}, "duration"),
        (SEEDANCE_15, {"prompt": "p", "image": IMAGE}, "image"),  # another model's field
        (SEEDANCE_25, {"prompt": "p", "image": IMAGE, "ratio": "16:9"}, "ratio"),
        (SEEDANCE_25, {"prompt": "p", "image": IMAGE, "duration": 31}, "duration"),
        (SEEDANCE_25, {"prompt": "p", "image": IMAGE, "generate_audio": 1}, "generate_audio"),
        (SEEDANCE_25, {"prompt": "p"}, "image"),  # a required field missing
    ],
)
async def test_a_body_outside_the_models_schema_is_a_422_naming_the_field(
    model_id: str, body: dict[str, Any], field: str
) -> None:
    async with FakeRunComfy(token=RUNCOMFY_TOKEN) as fake:
        fake.host(SEEDANCE_25, seedance_25())
        answer = await submit(fake, model_id, body)
        assert answer.status_code == 422
        assert field in [problem["loc"][-1] for problem in answer.json()["detail"]]
        assert fake.jobs == {}


async def test_each_model_serves_its_own_schema_and_takes_a_body_within_it() -> None:
    async with FakeRunComfy(token=RUNCOMFY_TOKEN) as fake:
        fake.host(SEEDANCE_25, seedance_25())
        async with httpx.AsyncClient(base_url=fake.base_url) as http:
            auth = {"Authorization": f"Bearer {RUNCOMFY_TOKEN}"}
            served = (await http.get(f"/v1/models/{SEEDANCE_15}", headers=auth)).json()
        assert served["input_schema"] == seedance_15()
        body = {"prompt": "p", "image": IMAGE, "duration": 30, "generate_audio": False}
        assert (await submit(fake, SEEDANCE_25, body)).status_code == 200


async def test_a_prompt_outside_the_schemas_length_bounds_is_a_422() -> None:
    schema = seedance_25()
    schema["properties"]["prompt"].update(maxLength=10, minLength=2)
    async with FakeRunComfy(token=RUNCOMFY_TOKEN) as fake:
        fake.host(SEEDANCE_25, schema)
        for prompt in ("x" * 11, "x"):
            answer = await submit(fake, SEEDANCE_25, {"prompt": prompt, "image": IMAGE})
            assert answer.status_code == 422
            assert [p["loc"][-1] for p in answer.json()["detail"]] == ["prompt"]
        assert fake.jobs == {}
        assert (await submit(fake, SEEDANCE_25, {"prompt": "x" * 10, "image": IMAGE})).is_success
