"""principle_versions: Path A's debate judge's sets are kind debate_judge (were judge)

The kind `judge` named Path A's debate judge's principle set, while `kindling judge` and the GRPO
judge reward use the Detector's set (kind detector); the new name keeps the two apart. Only the
kind of stored versions changes; their rules, ids and lineage stay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-13 10:00:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("UPDATE principle_versions SET kind = 'debate_judge' WHERE kind = 'judge'")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE principle_versions SET kind = 'judge' WHERE kind = 'debate_judge'")
