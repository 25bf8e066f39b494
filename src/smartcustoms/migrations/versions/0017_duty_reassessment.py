"""duty reassessment: an assessment's revision and source (lodging, amendment, inspection findings)

Inspection findings reassess the duties of the same declaration version, so an assessment is
unique per (declaration, version, revision) instead of per (declaration, version).

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('duty_assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='lodging'))
        batch_op.drop_constraint('uq_duty_assessment_declaration_id_version', type_='unique')
        batch_op.create_unique_constraint('uq_duty_assessment_declaration_id_version_revision', ['declaration_id', 'version', 'revision'])
    op.execute("UPDATE duty_assessment SET source = 'amendment' WHERE version > 1")


def downgrade() -> None:
    op.execute("DELETE FROM duty_assessment WHERE revision > 0")
    with op.batch_alter_table('duty_assessment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_duty_assessment_declaration_id_version_revision', type_='unique')
        batch_op.create_unique_constraint('uq_duty_assessment_declaration_id_version', ['declaration_id', 'version'])
        batch_op.drop_column('source')
        batch_op.drop_column('revision')
