# The langchain-platform service image. Installs offline from wheels built on the host, so build those
# first: lab/wheelhouse.sh (or lab/app-image.sh, which does both). Plain `docker build .` works with
# the legacy builder too: no BuildKit-only syntax.
#   docker build --build-arg APP_VERSION=0.1.0 --build-arg GIT_REVISION=$(git rev-parse --short HEAD) \
#     -t langchain-platform:0.1.0 .
# Every stage must share one base: the venv's python is a symlink to the base's interpreter.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# The dependencies: one large layer that stays cached while only the service's code changes.
# pip and setuptools only serve the install, so the venv keeps neither; a .pth file puts /opt/app,
# where the project itself goes, on the venv's import path.
# Litestar requires polyfactory (which requires faker, ~25 MB) only to generate OpenAPI examples and
# test data; the service generates no examples and never imports either of them (checked by
# tests/unit/test_import_footprint.py), so they are removed too.
# zstandard (langsmith's trace compression) ships two builds of the same codec, 12 MB each: CPython
# loads the C extension, the CFFI one is PyPy's. The CFFI build goes, and the build fails if the C
# backend would not be the one in use.
FROM ${BASE_IMAGE} AS deps
COPY .cache/wheelhouse/ /wheels/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --disable-pip-version-check \
        --find-links /wheels --requirement /wheels/requirements.txt \
 && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check faker polyfactory pip setuptools \
 && site="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
 && rm -f "$site"/zstandard/_cffi.*.so "$site"/zstandard/backend_cffi.py \
 && /opt/venv/bin/python -c 'import zstandard; assert zstandard.backend == "cext", zstandard.backend' \
 && echo /opt/app >"$site/app.pth"

# The project: a small layer. A throwaway pip runs under the venv's interpreter (--python), so the
# langchain-platform script points at /opt/venv/bin/python.
FROM deps AS app
COPY .cache/dist/ /dist/
RUN python3 -m venv /tmp/pip \
 && /tmp/pip/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index --no-deps \
        --disable-pip-version-check --target /opt/app /dist/*.whl

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin app \
 && mkdir /data \
 && chown app:app /data \
 && chmod 0750 /data
COPY --from=deps /opt/venv /opt/venv
COPY --from=app /opt/app /opt/app
# The bytecode compiled at install time stays; the app user could not write new .pyc files anyway.
ENV PATH=/opt/app/bin:/opt/venv/bin:$PATH \
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
# No --workers: WORKERS decides, and unset or auto it is one worker per CPU the container may use
# (docker run --cpus / --cpuset-cpus), so a replica uses its CPU limit.
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
