"""RunComfy's Model API: the client (`client`), its answers (`wire`), its errors (`errors`).

Model-agnostic: what a model takes and how its submit body is built lives in `bot.models`.
"""

from bot.runcomfy.client import RunComfyClient, make_http_client
from bot.runcomfy.errors import RunComfyError
from bot.runcomfy.wire import (
    CancelResponse,
    ModelInfo,
    RequestResult,
    RequestStatus,
    SubmitResponse,
)

__all__ = [
    "CancelResponse",
    "ModelInfo",
    "RequestResult",
    "RequestStatus",
    "RunComfyClient",
    "RunComfyError",
    "SubmitResponse",
    "make_http_client",
]
