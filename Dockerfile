# The KEP 2.0 events service. Set KEP_DATABASE_URL to a PostgreSQL database in production;
# the default SQLite file lives in the /srv/kep/data volume.

# The service's wheel, which carries its migrations and the web pages' templates and
# static files (app/web/templates, app/web/static).
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KEP_DATABASE_URL=sqlite:////srv/kep/data/kep.db \
    KEP_MAIL_DIR=/srv/kep/data/mail \
    MPLCONFIGDIR=/tmp/matplotlib \
    KEP_SHUTDOWN_TIMEOUT=8

RUN useradd --system --uid 10001 --user-group --home-dir /srv/kep --no-create-home kep
WORKDIR /srv/kep

# The exact versions of requirements.lock, in a layer of their own that changes only
# with the lock; then the service itself, without dependencies of its own choosing.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl \
    && rm -rf /wheels \
    && mkdir -p /srv/kep/data \
    && chown kep:kep /srv/kep/data

USER kep
VOLUME ["/srv/kep/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

# `kep serve` applies the migrations shipped in the package (the catalogue comes with
# them), then starts uvicorn. On SIGTERM it lets requests in flight finish for
# KEP_SHUTDOWN_TIMEOUT seconds, within the 10 seconds `docker stop` waits before it
# kills; raise both together.
STOPSIGNAL SIGTERM
CMD ["kep", "serve", "--host", "0.0.0.0", "--port", "8000"]
