"""inspection photos and instructions, X-ray scans

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('inspection_photo',
    sa.Column('id', _ID, nullable=False),
    sa.Column('task_id', _ID, nullable=False),
    sa.Column('step_id', sa.String(length=60), nullable=False),
    sa.Column('container', sa.String(length=11), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('taken_by', sa.String(length=120), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_inspection_photo_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_photo'))
    )
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_photo_task', ['task_id', 'container', 'step_id'], unique=False)

    op.create_table('inspection_instruction',
    sa.Column('id', _ID, nullable=False),
    sa.Column('task_id', _ID, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('step_id', sa.String(length=60), nullable=True),
    sa.Column('given_by', sa.String(length=120), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_inspection_instruction_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_instruction'))
    )
    with op.batch_alter_table('inspection_instruction', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_instruction_task', ['task_id', 'id'], unique=False)

    op.create_table('xray_scan',
    sa.Column('id', _ID, nullable=False),
    sa.Column('declaration_id', _ID, nullable=False),
    sa.Column('container', sa.String(length=11), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('station', sa.String(length=120), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('task_id', _ID, nullable=True),
    sa.Column('verdict', sa.String(length=10), nullable=True),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_xray_scan_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_xray_scan_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xray_scan'))
    )
    with op.batch_alter_table('xray_scan', schema=None) as batch_op:
        batch_op.create_index('ix_xray_scan_declaration', ['declaration_id', 'container'], unique=False)
        batch_op.create_index('ix_xray_scan_verdict', ['verdict', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('xray_scan', schema=None) as batch_op:
        batch_op.drop_index('ix_xray_scan_verdict')
        batch_op.drop_index('ix_xray_scan_declaration')
    op.drop_table('xray_scan')
    with op.batch_alter_table('inspection_instruction', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_instruction_task')
    op.drop_table('inspection_instruction')
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_photo_task')
    op.drop_table('inspection_photo')
