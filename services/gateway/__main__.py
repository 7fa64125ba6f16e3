"""``python -m services.gateway``: migrate the database, then serve uploads."""

from __future__ import annotations

import argparse
import sys

from brainmets.config import get_settings
from brainmets.db.migrate import upgrade
from services.core.logging import configure_logging
from services.core.serve import serve
from services.gateway.main import app_from_settings


def main() -> None:
    parser = argparse.ArgumentParser(description="BrainMets upload gateway")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--no-migrate", action="store_true", help="skip the schema migration at start")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    if not settings.AMQP_URL:
        sys.exit("the gateway needs AMQP_URL (RabbitMQ); for everything in one process use `make run`")
    if not args.no_migrate:
        upgrade(settings.database_url, admin_token=settings.ADMIN_TOKEN)
    serve(app_from_settings(settings), settings, args.port)


if __name__ == "__main__":
    main()
