# rootkey: the bot as a container (`python -m bot`). Production path: see README, "Deploy".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/rootkey.db

WORKDIR /app

# Runtime requirements only (no tests, no simulator, no demo extra).
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY bot ./bot
COPY handlers ./handlers

# An unprivileged user; the code stays root-owned and read-only to it. /data holds the SQLite
# file when DATABASE_URL is left at its default (mount a volume there).
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin rootkey \
    && mkdir /data \
    && chown rootkey /data
USER 10001

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

CMD ["python", "-m", "bot"]
