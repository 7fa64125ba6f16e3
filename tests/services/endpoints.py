"""Where the integration services live: environment variables with defaults for the dev machine.

Postgres: ``TEST_POSTGRES_URL`` (an admin URL; a fresh database is created per test session).
RabbitMQ: ``TEST_AMQP_URL`` (a unique exchange/queue prefix per run, deleted afterwards).
S3: ``TEST_S3_ENDPOINT`` (host:port, default moto's server on 127.0.0.1:9000 that ``.ci/services.sh`` starts;
started here too when absent and moto is installed), with a unique bucket per run.
Where a Docker engine answers, testcontainers provide all three instead (``TEST_USE_CONTAINERS=0`` turns that off).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pika
import psycopg2
from sqlalchemy.engine import make_url

from brainmets.messaging.rabbitmq import connection_parameters

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
S3_ENDPOINT = os.environ.get("TEST_S3_ENDPOINT", "127.0.0.1:9000")
S3_ACCESS_KEY = os.environ.get("TEST_S3_ACCESS_KEY", "testing")
S3_SECRET_KEY = os.environ.get("TEST_S3_SECRET_KEY", "testing")


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    amqp_url: str
    amqp_prefix: str
    s3_endpoint: str
    s3_bucket: str
    s3_access_key: str
    s3_secret_key: str

    def env(self) -> dict[str, str]:
        """The environment a service process needs to use these endpoints."""
        return {
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "AMQP_PREFIX": self.amqp_prefix,
            "S3_ENDPOINT": self.s3_endpoint,
            "S3_BUCKET": self.s3_bucket,
            "S3_ACCESS_KEY": self.s3_access_key,
            "S3_SECRET_KEY": self.s3_secret_key,
            "S3_REGION": "us-east-1",
        }


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_reason() -> str | None:
    """Why the services cannot be used, or ``None`` when all answer."""
    pg = make_url(POSTGRES_URL)
    if not port_open(pg.host or "127.0.0.1", pg.port or 5432):
        return f"Postgres does not answer at {pg.host}:{pg.port} (set TEST_POSTGRES_URL)"
    amqp = urlsplit(AMQP_URL)
    if not port_open(amqp.hostname or "127.0.0.1", amqp.port or 5672):
        return f"RabbitMQ does not answer at {amqp.hostname}:{amqp.port} (set TEST_AMQP_URL)"
    return None


@contextmanager
def s3_server() -> Iterator[str]:
    """The S3 endpoint: the configured one if it answers, else a moto server started for the session."""
    host, _, port = S3_ENDPOINT.partition(":")
    if port_open(host, int(port or 80)):
        yield S3_ENDPOINT
        return
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists() and shutil.which("moto_server") is None:
        raise RuntimeError(f"no S3 server at {S3_ENDPOINT} and moto_server is not installed")
    port_number = free_port()
    process = subprocess.Popen(
        [str(moto) if moto.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(port_number)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", port_number):
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.2)
        yield f"127.0.0.1:{port_number}"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def fresh_database(admin_url: str = POSTGRES_URL, prefix: str = "brainmets_test") -> Iterator[str]:
    """A new Postgres database for this session (or a benchmark run), dropped afterwards."""
    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(
        host=admin.host, port=admin.port, user=admin.username, password=admin.password, dbname=admin.database
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def delete_topology(amqp_url: str, prefix: str, models: tuple[str, ...]) -> None:
    with suppress(Exception):
        connection = pika.BlockingConnection(connection_parameters(amqp_url))
        channel = connection.channel()
        for model in models:
            for queue in (f"{prefix}.{model}", f"{prefix}.{model}.dead", f"{prefix}.{model}.retry"):
                channel.queue_delete(queue)
        channel.exchange_delete(f"{prefix}.jobs")
        channel.exchange_delete(f"{prefix}.dlx")
        connection.close()


def queue_depth(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(connection_parameters(amqp_url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def docker_reachable() -> bool:
    """A Docker engine answers (``TEST_USE_CONTAINERS=0`` forces the local services)."""
    if os.environ.get("TEST_USE_CONTAINERS") == "0":
        return False
    if not (Path("/var/run/docker.sock").exists() or os.environ.get("DOCKER_HOST")):
        return False
    try:
        import docker

        return bool(docker.from_env(timeout=3).ping())
    except Exception:
        return False


@contextmanager
def container_endpoints(prefix: str) -> Iterator[Endpoints]:
    """Postgres, RabbitMQ and MinIO in containers (testcontainers), for machines with a Docker engine."""
    from testcontainers.minio import MinioContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with (
        PostgresContainer("postgres:16-alpine", driver="psycopg2") as pg,
        RabbitMqContainer("rabbitmq:3.13-alpine") as rabbit,
        MinioContainer() as minio,
    ):
        params = rabbit.get_connection_params()
        amqp = f"amqp://guest:guest@{params.host}:{params.port}/%2F"
        config = minio.get_config()
        yield Endpoints(
            pg.get_connection_url(),
            amqp,
            prefix,
            config["endpoint"],
            f"bm-{prefix}",
            config["access_key"],
            config["secret_key"],
        )


@contextmanager
def local_endpoints(prefix: str) -> Iterator[Endpoints]:
    with fresh_database() as database_url, s3_server() as s3:
        yield Endpoints(database_url, AMQP_URL, prefix, s3, f"bm-{prefix}", S3_ACCESS_KEY, S3_SECRET_KEY)
