"""completion_samples: a few of a GRPO run's completions per logged step

What the policy wrote at each logged step (prompt, completion, each reward function's value, the
weighted total and advantage, length in characters and tokens, whether it hit the token cap),
written by the training process's main rank, one step in one transaction. Older runs have none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12 10:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('completion_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('completion', sa.Text(), nullable=False),
    sa.Column('rewards', sa.JSON(), nullable=False),
    sa.Column('reward', sa.Double(), nullable=True),
    sa.Column('advantage', sa.Double(), nullable=True),
    sa.Column('chars', sa.Integer(), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=True),
    sa.Column('hit_cap', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_completion_samples_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion_samples')),
    sa.UniqueConstraint('run_id', 'step', 'position', name='uq_completion_samples_run_step_position')
    )
    with op.batch_alter_table('completion_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completion_samples_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('completion_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completion_samples_run_id'))
    op.drop_table('completion_samples')
