"""principle_versions.task, task_hash: the task a principle version was made under

Each principle version records its task's name (`task`) and the task's content hash at the time
(`task_hash`, informational). Versions are unique per (kind, task, text), so the same rules under
two tasks are two versions, each with its own active flag and validation metrics.

Existing rows keep NULL in both columns, and NULL is read as greetings-zh: every version stored
before tasks were recorded was made for the paper's task, short Chinese greetings (the only task
Kindling had). They are not rewritten, so a store migrated and then downgraded is as it was.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('principle_versions') as batch:
        batch.add_column(sa.Column('task', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('task_hash', sa.String(length=64), nullable=True))
        batch.drop_constraint('uq_principle_versions_kind_hash', type_='unique')
        batch.create_unique_constraint('uq_principle_versions_kind_task_hash',
                                       ['kind', 'task', 'text_hash'])
        batch.create_index(batch.f('ix_principle_versions_task'), ['task'], unique=False)


def downgrade() -> None:
    """Downgrade schema (fails if two versions of a kind share a text under different tasks)."""
    with op.batch_alter_table('principle_versions') as batch:
        batch.drop_index(batch.f('ix_principle_versions_task'))
        batch.drop_constraint('uq_principle_versions_kind_task_hash', type_='unique')
        batch.create_unique_constraint('uq_principle_versions_kind_hash', ['kind', 'text_hash'])
        batch.drop_column('task_hash')
        batch.drop_column('task')
