"""``python -m services.accounts create NAME [--admin] [--days N]``: make an account and print its token once."""

from __future__ import annotations

import argparse
import sys

from brainmets.config import get_settings
from brainmets.db import AccountRole, make_engine, make_sessionmaker
from brainmets.db.accounts import get_account
from brainmets.db.migrate import upgrade
from services.core.auth import issue_token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Manage BrainMets API accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account and print its bearer token")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may see every account's scans")
    create.add_argument("--days", type=float, default=None, help="token lifetime (default: no expiry)")
    args = parser.parse_args(argv)
    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        if get_account(session, args.name) is not None:
            sys.exit(f"an account named {args.name!r} exists already")
        role = AccountRole.ADMIN.value if args.admin else AccountRole.USER.value
        token = issue_token(session, args.name, role, args.days)
    engine.dispose()
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
