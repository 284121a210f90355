"""RunComfy's errors as one exception type, read defensively from any answer."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

BALANCE_CODES = frozenset({400002})
TOKEN_CODES = frozenset({400004, 401001})
RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class RunComfyError(Exception):
    """Any failure talking to RunComfy. Never carries the token."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.retryable = retryable
        # A submit that may have created (and will bill) a job we know nothing of.
        self.ambiguous = ambiguous
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.error_code is not None:
            parts.append(f"code {self.error_code}")
        return " | ".join(parts)

    @property
    def operator_problem(self) -> bool:
        """Only the operator can fix it: empty balance or a bad token."""
        return (
            self.error_code in BALANCE_CODES
            or self.error_code in TOKEN_CODES
            or self.status_code in (401, 402)
        )

    @property
    def user_message(self) -> str:
        if self.operator_problem:
            return "The video service is unavailable right now. The bot's operator has been told."
        if self.error_code == 422001 or self.status_code == 422:
            return f"The video service refused the request: {self.message}"
        if self.retryable:
            return "The video service is not answering properly right now. Please try again later."
        return "The video service could not take this job."


def message_of(body: dict[str, Any]) -> str | None:
    for key in ("error_message", "message", "error", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            nested = message_of(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # 422 validation errors: a list of {loc, msg}.
            parts = [
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in value[:3]
            ]
            return "; ".join(parts)
    return None


def error_from(status: int, body: dict[str, Any], response: httpx.Response) -> RunComfyError:
    code = body.get("error_code")
    try:
        error_code = int(code) if code is not None else None
    except (TypeError, ValueError):
        error_code = None
    message = message_of(body) or f"RunComfy answered HTTP {status}"
    retryable = status in RETRYABLE_HTTP or error_code == 500001
    if status == 200 and error_code is not None:
        retryable = error_code == 500001 or error_code // 1000 == 500
    if error_code in BALANCE_CODES | TOKEN_CODES or status in (401, 402, 403, 404):
        retryable = False
    return RunComfyError(
        message[:500],
        status_code=status,
        error_code=error_code,
        retryable=retryable,
        retry_after=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    return None
