"""selectivity: the number of recent model scores an office's lanes follow

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('risk_selectivity_setting') as batch:
        batch.add_column(sa.Column('score_window', sa.Integer(), server_default='2000', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('risk_selectivity_setting') as batch:
        batch.drop_column('score_window')
