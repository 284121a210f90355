"""Logging set up once, at the composition root."""

from __future__ import annotations

import logging
import re

# An interaction's token lets whoever holds it post as the bot for 15 minutes: discord.py
# logs it at DEBUG in webhook URLs and in every gateway event it receives.
_TOKEN_IN_URL = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?'\"]+")
_TOKEN_FIELD = re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]*""")
REDACTED = "<redacted>"


class RedactTokens(logging.Filter):
    """Every line leaves with interaction and webhook tokens replaced by REDACTED."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_FIELD.sub(r"\1" + REDACTED, _TOKEN_IN_URL.sub(r"\1" + REDACTED, message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's HTTP debug lines would echo request bodies; keep them quiet.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, root.level))
    logging.getLogger("httpx").setLevel(logging.WARNING)
