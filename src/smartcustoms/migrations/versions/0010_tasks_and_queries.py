"""tasks (every kind of officer work), review queries, office clearance settings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('review', 'inspection', 'image_review', 'audit', name='taskkind', native_enum=False, length=20), nullable=False),
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('open', 'waiting', 'done', name='taskstatus', native_enum=False, length=10), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('draw', sa.JSON(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_task_declaration_id_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_office_status', ['office', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_task_declaration', ['declaration_id'], unique=False)

    op.create_table('review_query',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('declaration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_by', sa.String(length=120), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('answered_by', sa.String(length=120), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_review_query_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_review_query_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_query'))
    )
    with op.batch_alter_table('review_query', schema=None) as batch_op:
        batch_op.create_index('ix_review_query_declaration', ['declaration_id', 'id'], unique=False)

    op.create_table('clearance_office',
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('review_first', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('office', name=op.f('pk_clearance_office'))
    )


def downgrade() -> None:
    op.drop_table('clearance_office')
    with op.batch_alter_table('review_query', schema=None) as batch_op:
        batch_op.drop_index('ix_review_query_declaration')
    op.drop_table('review_query')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_declaration')
        batch_op.drop_index('ix_task_office_status')
    op.drop_table('task')
