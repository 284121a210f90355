"""What the RunComfy client tests send: the token, the model and an input body."""

from __future__ import annotations

from tests.fakes.schemas import SEEDANCE_15
from tests.models import options, seedance

TOKEN = "rc-secret-token-DO-NOT-LOG-4242"


MODEL = SEEDANCE_15


INPUT = seedance().body(
    "a cat yawns", "https://cdn.example/cat.png", options(resolution="720p", duration=6)
)
