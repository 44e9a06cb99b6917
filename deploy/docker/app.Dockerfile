# The Horizon application image: the project installed with pip from this repository.
# Build context is the repository root (compose.yaml sets it):
#   docker build -f deploy/docker/app.Dockerfile -t horizon-app:local .
# Only the paths allowed by app.Dockerfile.dockerignore are sent to the builder, so a filled-in
# deploy/docker/.env never enters the build context.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A dedicated unprivileged user; its home holds the fill journal (a volume in compose.yaml).
RUN useradd --uid 10001 --user-group --create-home --home-dir /var/lib/horizon \
        --shell /usr/sbin/nologin horizon

WORKDIR /build
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt . && rm -rf /build

COPY deploy/app_example.py /app/app_example.py

USER horizon
WORKDIR /var/lib/horizon
CMD ["python", "/app/app_example.py"]
