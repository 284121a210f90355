# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/bot.db

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir bot cogs && touch bot/__init__.py cogs/__init__.py \
    && pip install . \
    && pip uninstall -y animate-bot

# bot/ brings its message catalogs (bot/locales/*/LC_MESSAGES/*.po), read at start.
COPY bot ./bot
COPY cogs ./cogs

RUN useradd --create-home --uid 10001 animate \
    && mkdir -p /data && chown animate:animate /data
USER animate

# SQLite lives on a volume so jobs survive container restarts.
VOLUME ["/data"]

CMD ["python", "-m", "bot"]
