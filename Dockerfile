# Matchday in a container: `docker build -t matchday .` then
# `docker run -d --env-file .env -v matchday-data:/data matchday`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MATCHDAY_DB=/data/matchday.db \
    MATCHDAY_METRICS_LISTEN=0.0.0.0:9108 \
    MATCHDAY_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY feeds feeds
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data matchday \
    && mkdir -p /data && chown matchday /data

USER matchday
VOLUME ["/data"]
EXPOSE 9108

# The probe asks the bot itself: store answering, engine ticking, delivery moving.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4).status != 200)"]

# SIGTERM (docker stop) lets the bot finish its sends in flight before it exits.
STOPSIGNAL SIGTERM
CMD ["matchday", "run"]
