# voisins API / worker image.
#   docker build -t voisins .
#   docker run --rm -p 8000:8000 -e VOISINS_DATABASE_URL=... -e VOISINS_REDIS_URL=... \
#       -e VOISINS_SECRET_KEY=... voisins
# See docker-compose.yml for the full stack (PostGIS, Redis, API, worker).
# The front-end libraries the pages serve themselves (Leaflet, htmx), from npm.
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VOISINS_WEB_ASSETS_DIR=/app/node_modules

WORKDIR /app

# Pango and a font for WeasyPrint (the housing documents' PDF; scripts/pdf.sh elsewhere).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# README.md is the project's `readme` in pyproject.toml (hatchling needs it);
# sql/ is packaged into the wheel as voisins/_sql (the migrations).
COPY pyproject.toml README.md ./
COPY src ./src
COPY sql ./sql
COPY --from=assets /assets/node_modules ./node_modules
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin voisins

USER voisins

EXPOSE 8000

CMD ["voisins", "serve", "--host", "0.0.0.0", "--port", "8000"]
