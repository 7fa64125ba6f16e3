"""Every setting the services read, from the environment, in one place.

Unset ``DATABASE_URL``, ``AMQP_URL`` and ``S3_ENDPOINT`` select the embedded adapters (SQLite under ``./var``,
an in-process queue, a local directory), so ``make run`` needs no server.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from brainmets.catalog import MODEL_NAMES


class Settings(BaseSettings):
    """Service configuration; field names are the environment variable names."""

    # Errors never echo a value: settings hold passwords (URLs) and ADMIN_TOKEN.
    model_config = SettingsConfigDict(env_file=None, case_sensitive=True, extra="ignore", hide_input_in_errors=True)

    DATABASE_URL: str | None = None
    AMQP_URL: str | None = None
    AMQP_PREFIX: str = Field(default="brainmets", description="prefix of exchange and queue names")
    S3_ENDPOINT: str | None = Field(default=None, description="host:port, or a URL (http/https sets S3_SECURE)")
    S3_ACCESS_KEY: str | None = None
    S3_SECRET_KEY: str | None = None
    S3_BUCKET: str = "brainmets"
    S3_SECURE: bool = False
    S3_REGION: str | None = None
    VAR_DIR: Path = Path("var")
    ARTIFACTS_DIR: Path | None = None
    MODEL_NAME: str | None = None
    MODELS: str = Field(default=",".join(MODEL_NAMES), description="models the gateway queues by default")
    DEVICE: str = "auto"
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: str = Field(default="json", pattern="^(json|text)$", description="json: one event a line; text")
    METRICS_PORT: int = Field(default=9100, ge=0, le=65535, description="a worker's /metrics port; 0 = none")
    MAX_UPLOAD_BYTES: int = 20 * 1024 * 1024
    MAX_PIXELS: int = 4096 * 4096
    MIN_SIDE: int = 16
    # Volumes (NIfTI, zipped DICOM series): the file as sent, slices along any axis, voxels, and a zip's contents.
    MAX_VOLUME_UPLOAD_BYTES: int = 512 * 1024 * 1024
    MAX_VOLUME_SLICES: int = 1024
    MAX_VOLUME_VOXELS: int = 64 * 1024 * 1024
    MAX_ZIP_MEMBERS: int = 4096
    MAX_ZIP_UNCOMPRESSED_BYTES: int = 1024 * 1024 * 1024
    JOB_MAX_ATTEMPTS: int = 3
    RETRY_BASE_DELAY_S: float = 0.5
    RETRY_MAX_DELAY_S: float = 10.0
    RELAY_INTERVAL_S: float = 1.0
    EVENTS_POLL_S: float = 0.3
    AUTH_ENABLED: bool | None = Field(
        default=None, description="bearer tokens required; unset = on against servers, off in the embedded mode"
    )
    # Seeded as the "admin" account's token by every migration; a deployment's first way in.
    ADMIN_TOKEN: str | None = Field(default=None, min_length=24, max_length=200, repr=False)
    UPLOADS_PER_MINUTE: int = Field(default=60, description="uploads per minute per signed-in account")
    # Report-Only only as an escape hatch; the web app passes the enforced policy (tests/web checks it).
    CSP_ENFORCE: bool = True
    WEB_DIR: Path = Path(__file__).resolve().parents[2] / "web"
    # Proxies whose X-Forwarded-For/-Proto uvicorn believes (comma-separated addresses, or "*"): the edge's, so
    # that the session cookie is Secure when the browser came over https to a TLS terminator in front.
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    API_DOCS: bool | None = Field(default=None, description="/docs and /redoc; unset = on only where sign-in is off")

    @field_validator("DEVICE")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda") and not value.startswith("cuda:"):
            raise ValueError("DEVICE must be auto, cpu or cuda")
        return value

    @model_validator(mode="after")
    def _s3_endpoint(self) -> Self:
        """Accept ``host:port`` or a URL: minio wants the former, and a URL's path made every service die."""
        if not self.S3_ENDPOINT:
            return self
        url = urlsplit(self.S3_ENDPOINT if "://" in self.S3_ENDPOINT else f"//{self.S3_ENDPOINT}")
        if url.scheme not in ("", "http", "https") or not url.hostname or url.path.strip("/") or url.query:
            raise ValueError(
                "S3_ENDPOINT must be host:port (e.g. minio:9000) or an http(s) URL with no path "
                "(e.g. https://s3.eu-west-1.amazonaws.com); put the bucket in S3_BUCKET"
            )
        if not url.scheme:
            return self
        secure = url.scheme == "https"
        if "S3_SECURE" in self.model_fields_set and secure != self.S3_SECURE:
            raise ValueError(f"S3_SECURE={str(self.S3_SECURE).lower()} contradicts S3_ENDPOINT's {url.scheme}:// URL")
        self.S3_ENDPOINT = url.netloc.rpartition("@")[2]  # credentials belong in S3_ACCESS_KEY/S3_SECRET_KEY
        self.S3_SECURE = secure
        return self

    @property
    def auth_required(self) -> bool:
        """``AUTH_ENABLED`` when set; otherwise on whenever a server holds the data (off for ``make run``)."""
        if self.AUTH_ENABLED is not None:
            return self.AUTH_ENABLED
        return bool(self.DATABASE_URL or self.AMQP_URL or self.S3_ENDPOINT)

    @property
    def api_docs(self) -> bool:
        """``API_DOCS`` when set; otherwise the interactive docs are served only where sign-in is off."""
        return self.API_DOCS if self.API_DOCS is not None else not self.auth_required

    @property
    def max_request_bytes(self) -> int:
        """The largest body the gateway lets through: the larger of the slice and volume limits."""
        return max(self.MAX_UPLOAD_BYTES, self.MAX_VOLUME_UPLOAD_BYTES)

    @property
    def embedded_database(self) -> bool:
        return not self.DATABASE_URL

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL; SQLite under ``VAR_DIR`` when ``DATABASE_URL`` is unset."""
        return self.DATABASE_URL or f"sqlite:///{(self.VAR_DIR / 'brainmets.db').resolve()}"

    @property
    def objects_dir(self) -> Path:
        return self.VAR_DIR / "objects"

    @property
    def default_models(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.MODELS.split(",") if m.strip())


@lru_cache
def get_settings() -> Settings:
    """The process's settings; a bad value stops it with one sentence per setting, not a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(configuration_problem(exc)) from None


def configuration_problem(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"configuration error: {where + ': ' if where else ''}{message}")
    return "\n".join(lines)
