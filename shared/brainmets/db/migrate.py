"""Apply the Alembic migrations kept inside this package: ``python -m brainmets.db.migrate``.

The Alembic configuration is built in code, so no ``alembic.ini`` has to sit in the working directory.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from brainmets.config import get_settings
from brainmets.db.accounts import seed_admin
from brainmets.db.session import make_engine, make_sessionmaker, wait_for_database
from brainmets.logformat import configure_logging

LOGGER = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x42524D54  # "BRMT"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's ini interpolation treats % specially: a URL-encoded password must be escaped.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", wait_s: float = 60.0, admin_token: str | None = None) -> None:
    """Wait for the database, migrate it to ``revision``, then give the ``admin`` account ``admin_token`` if set."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_suffix(".migrate.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # SQLite has no advisory locks: a file lock serialises migrators
            _upgrade(url, revision, wait_s, admin_token)
        return
    _upgrade(url, revision, wait_s, admin_token)


def _upgrade(url: str, revision: str, wait_s: float, admin_token: str | None) -> None:
    engine = make_engine(url)
    try:
        wait_for_database(engine, timeout_s=wait_s)
        with engine.connect() as lock:
            # Services start together: an advisory lock makes their migrations run one after another.
            if lock.dialect.name == "postgresql":
                lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(alembic_config(url), revision)
            if admin_token:
                # Under the same lock, so services starting together do not race to create the account.
                with make_sessionmaker(engine).begin() as session:
                    seed_admin(session, admin_token)
                LOGGER.info("the admin account holds ADMIN_TOKEN")
            if lock.dialect.name == "postgresql":
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()
    LOGGER.info("database migrated to %s", revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Migrate the BrainMets database to the newest schema.")
    parser.add_argument("--revision", default="head")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the database")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    upgrade(settings.database_url, args.revision, args.wait, admin_token=settings.ADMIN_TOKEN)


if __name__ == "__main__":
    main()
