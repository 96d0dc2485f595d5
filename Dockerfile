# The langchain-platform service image. Installs offline from wheels built on the host, so build those
# first: lab/wheelhouse.sh (or lab/app-image.sh, which does both). Plain `docker build .` works with
# the legacy builder too: no BuildKit-only syntax.
#   docker build --build-arg APP_VERSION=0.1.0 --build-arg GIT_REVISION=$(git rev-parse --short HEAD) \
#     -t langchain-platform:0.1.0 .
# Both stages must share one base: the venv's python is a symlink to the base's interpreter.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
COPY .cache/wheelhouse/ /wheels/
COPY .cache/dist/ /dist/
# pip and setuptools only serve the install: the running service never needs them.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels --disable-pip-version-check \
        /dist/*.whl \
 && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check pip setuptools

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin app \
 && mkdir /data \
 && chown app:app /data \
 && chmod 0750 /data
COPY --from=builder /opt/venv /opt/venv
# The bytecode compiled at install time stays; the app user could not write new .pyc files anyway.
ENV PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /data
VOLUME /data
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request as r\ntry: r.urlopen('http://127.0.0.1:8000/health/live', timeout=2)\nexcept Exception as e: raise SystemExit(f'not live: {e}')"]
ENTRYPOINT ["langchain-platform"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

# Last, so that a new version or revision reuses every layer above.
ARG APP_VERSION=0.0.0
ARG GIT_REVISION=unknown
ARG SOURCE_URL=
# Set for test variants whose package version differs from the version they claim; empty means unset.
ARG APP_VERSION_OVERRIDE=
ENV LANGCHAIN_PLATFORM_VERSION=${APP_VERSION_OVERRIDE}
LABEL org.opencontainers.image.title="langchain-platform" \
      org.opencontainers.image.description="LangGraph agents behind a Litestar API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.revision="${GIT_REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
