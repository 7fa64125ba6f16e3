"""``python -m services.embedded`` (``make run``): the whole system on http://127.0.0.1:8000."""

from __future__ import annotations

import logging
import sys

from brainmets.config import get_settings
from brainmets.db.migrate import upgrade
from services.core.logging import configure_logging
from services.core.serve import serve
from services.embedded.main import build_embedded, embedded_settings
from services.worker.runner import MissingArtifactError

LOGGER = logging.getLogger("services.embedded")


def main() -> None:
    settings = embedded_settings(get_settings())
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, admin_token=settings.ADMIN_TOKEN)
    try:
        _runtime, app = build_embedded(settings)
    except MissingArtifactError as exc:
        sys.exit(f"cannot start: {exc}")
    LOGGER.info("BrainMets on http://%s:%d (data under %s)", settings.HOST, settings.PORT, settings.VAR_DIR.resolve())
    serve(app, settings)


if __name__ == "__main__":
    main()
