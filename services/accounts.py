"""``python -m services.accounts create NAME [--admin] [--days N]``: make an account and print its token once.

``python -m services.accounts rotate NAME [--days N]``: give the account a new token and print it once; its old
tokens stop working, and so does every browser session opened with them.
"""

from __future__ import annotations

import argparse
import sys

from brainmets.config import get_settings
from brainmets.db import AccountRole, make_engine, make_sessionmaker
from brainmets.db.accounts import get_account, rotate_token
from brainmets.db.migrate import upgrade
from services.core.auth import hash_token, issue_token, new_token, token_expiry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Manage BrainMets API accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account and print its bearer token")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may see every account's scans")
    create.add_argument("--days", type=float, default=None, help="token lifetime (default: no expiry)")
    rotate = commands.add_parser("rotate", help="replace the account's tokens (ends its sessions); print the new one")
    rotate.add_argument("name")
    rotate.add_argument("--days", type=float, default=None, help="token lifetime (default: no expiry)")
    args = parser.parse_args(argv)
    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        account = get_account(session, args.name)
        if args.command == "create":
            if account is not None:
                sys.exit(f"an account named {args.name!r} exists already")
            role = AccountRole.ADMIN.value if args.admin else AccountRole.USER.value
            token = issue_token(session, args.name, role, args.days)
        else:
            if account is None:
                sys.exit(f"no account named {args.name!r}; create it first")
            token = new_token()
            rotate_token(session, account, hash_token(token), token_expiry(args.days))
    engine.dispose()
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
