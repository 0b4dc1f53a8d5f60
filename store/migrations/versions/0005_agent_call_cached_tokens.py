"""agent_calls.cached_tokens: the prompt tokens the provider served from its cache

Providers that cache prompt prefixes report how many of a prompt's tokens were cache hits
(OpenAI: usage.prompt_tokens_details.cached_tokens; DeepSeek: usage.prompt_cache_hit_tokens) and
bill them at a lower rate. The count is part of `prompt_tokens`, never added to it. Existing rows
keep NULL: not recorded, priced as full input.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('agent_calls') as batch:
        batch.add_column(sa.Column('cached_tokens', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('agent_calls') as batch:
        batch.drop_column('cached_tokens')
