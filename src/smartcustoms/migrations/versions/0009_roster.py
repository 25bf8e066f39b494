"""roster: officer profiles, work assignments, per-office dispatch seeds

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roster_officer',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('chapters', sa.String(length=300), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('duty', sa.Enum('on', 'off', name='duty', native_enum=False, length=3), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_roster_officer_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_roster_officer'))
    )
    op.create_table('roster_assignment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('task_ref', sa.String(length=80), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_roster_assignment_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_assignment'))
    )
    with op.batch_alter_table('roster_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_roster_assignment_open', ['user_id', 'released_at'], unique=False)
        batch_op.create_index('ix_roster_assignment_task', ['task_ref'], unique=False)

    op.create_table('roster_dispatch_seed',
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('office', name=op.f('pk_roster_dispatch_seed'))
    )


def downgrade() -> None:
    op.drop_table('roster_dispatch_seed')
    with op.batch_alter_table('roster_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_assignment_task')
        batch_op.drop_index('ix_roster_assignment_open')

    op.drop_table('roster_assignment')
    op.drop_table('roster_officer')
