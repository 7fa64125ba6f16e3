# syntax=docker/dockerfile:1
# One image for every role; the command picks it:
#   python -m services.gateway | services.results_api | services.worker | brainmets.db.migrate
# Build:
#   docker build -t brainmets:cpu .                                  CPU (the default)
#   docker build --build-arg VARIANT=cuda -t brainmets:cuda .         CUDA, for GPU workers
#   docker build --build-arg ROLE=api -t brainmets-api:cpu .          the API roles only (gateway, results API,
#                                                                      migrations, accounts): no torch, smaller
#                                                                      (infra/README.md has the figures)
ARG VARIANT=cpu
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04

# CPU: slim Python; torch from the CPU wheel index (about 200 MB; PyPI's default build pulls 3 GB of CUDA).
FROM ${PYTHON_IMAGE} AS base-cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV TORCH_INDEX_URL=${TORCH_INDEX_URL}
RUN python -m venv /opt/venv

# CUDA: NVIDIA's base image sets what the container toolkit reads (NVIDIA_VISIBLE_DEVICES and the driver
# capabilities); the torch wheel brings its own CUDA and cuDNN libraries, so the small "base" flavour does.
FROM ${CUDA_IMAGE} AS base-cuda
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ENV TORCH_INDEX_URL=${TORCH_INDEX_URL}
# The distribution's Python follows the base image's tag; pinning its package revision breaks rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

# A stage of this file, not a registry image: its tag is the stage name.
# hadolint ignore=DL3006
FROM base-${VARIANT} AS runtime
# Keep equal to the torch pin in pyproject.toml (tests/infra/test_dockerfile.py checks it).
ARG TORCH_VERSION=2.13.0
# all: every role; api: without what only the networks need (pyproject.toml [tool.brainmets] model-only).
ARG ROLE=all
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN groupadd --system --gid 10001 brainmets \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/brainmets --create-home \
       --shell /usr/sbin/nologin brainmets

# Layers from the least to the most often changed: torch, the other dependencies, the models, the code.
RUN if [ "${ROLE}" != api ]; then pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"; fi

# Only the dependency list, read from pyproject.toml, so editing code never reinstalls them. torch is left
# out: from PyPI's default index its pin would fetch the CUDA build over the one installed above.
# The versions are those of requirements.lock, the ones CI tested.
COPY pyproject.toml requirements.lock infra/docker/requirements.py ./
RUN python requirements.py "${ROLE}" > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt requirements.py

COPY training/artifacts/ training/artifacts/
COPY infra/docker/healthcheck.py /usr/local/bin/brainmets-healthcheck
COPY shared/ shared/
COPY services/ services/
COPY web/ web/
# Bytecode compiled now: the pods' root file system is read-only, so it could not be cached at run time.
RUN python -m compileall -q shared services

# The source tree runs in place (as in development): WEB_DIR and the migrations resolve beside the code.
ENV PYTHONPATH=/app:/app/shared \
    ARTIFACTS_DIR=/app/training/artifacts \
    VAR_DIR=/tmp/brainmets \
    XDG_CACHE_HOME=/tmp/cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOST=0.0.0.0 \
    PORT=8000

USER 10001:10001
EXPOSE 8000
# HTTP roles answer /healthz on PORT; a worker serves no HTTP, so its compose service disables this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/brainmets-healthcheck"]
CMD ["python", "-m", "services.results_api"]
