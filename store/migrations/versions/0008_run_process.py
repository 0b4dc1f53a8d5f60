"""runs.process: the host:pid of the process that opened (or last resumed) the run

A training run killed outright (the OOM killer, kill -9) never marks itself ended; the process
named here lets a reader on the same host see that it is gone and show the run as crashed.
Older runs keep NULL: shown as their stored status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('process', sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('process')
