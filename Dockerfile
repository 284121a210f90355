# syntax=docker/dockerfile:1
FROM python:3.11-slim

# tini is PID 1: it forwards `docker stop`'s SIGTERM to the bot and reaps children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# The one place the image's paths are set; .env.example leaves them alone.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/bot.db \
    HEARTBEAT_PATH=/tmp/animate-bot.heartbeat \
    METRICS_HOST=0.0.0.0

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes. Only their
# list is read from it: the project itself is never built (it runs from /app), so no
# README, egg-info or build/ is needed or left behind.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
        > /tmp/requirements.txt \
    && pip install --disable-pip-version-check --root-user-action=ignore \
        -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# bot/ brings its message catalogs (bot/locales/*/LC_MESSAGES/*.po), read at start.
COPY bot ./bot
COPY cogs ./cogs
COPY app ./app

RUN useradd --create-home --uid 10001 animate \
    && mkdir -p /data && chown animate:animate /data
USER animate

# SQLite lives on a volume so jobs survive container restarts.
VOLUME ["/data"]
# Only used when METRICS_PORT=9108 is set (and the port published).
EXPOSE 9108

# Healthy = the gateway is connected and the event loop turns (the heartbeat is fresh).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# Exec form: no shell in between, so the signal reaches tini, then Python.
ENTRYPOINT ["tini", "--", "python", "-m", "bot"]
CMD ["run"]
