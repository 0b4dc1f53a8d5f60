"""agent_calls.reasoning: a reasoning model's thinking, stored apart from its answer

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:40:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('agent_calls') as batch:
        batch.add_column(sa.Column('reasoning', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('agent_calls') as batch:
        batch.drop_column('reasoning')
