"""``python -m services.results_api``: serve results and the web app (port 8001 unless PORT says otherwise)."""

from __future__ import annotations

import argparse
import os

from brainmets.config import get_settings
from brainmets.db.migrate import upgrade
from services.core.logging import configure_logging
from services.core.serve import serve
from services.results_api.main import app_from_settings

DEFAULT_PORT = 8001


def main() -> None:
    parser = argparse.ArgumentParser(description="BrainMets results API")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--no-migrate", action="store_true", help="skip the schema migration at start")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    if not args.no_migrate:
        upgrade(settings.database_url, admin_token=settings.ADMIN_TOKEN)
    port = args.port or (settings.PORT if "PORT" in os.environ else DEFAULT_PORT)
    serve(app_from_settings(settings), settings, port)


if __name__ == "__main__":
    main()
