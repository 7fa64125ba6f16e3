"""volumes: scan kind and geometry, per-result progress, lesion list, detection and DICOM SEG

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="slice", nullable=False))
        batch_op.add_column(sa.Column("volume", sa.JSON(), nullable=True))
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("lesions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("detection", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seg_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("seg_key")
        batch_op.drop_column("detection")
        batch_op.drop_column("lesions")
        batch_op.drop_column("progress")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("volume")
        batch_op.drop_column("kind")
