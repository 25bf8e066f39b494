"""the port gate: release lines by container and plate, gate-outs, gate checks, officers' gate holds, the terminals' feed

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 20:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('release_container',
    sa.Column('id', _ID, nullable=False),
    sa.Column('release_id', _ID, nullable=False),
    sa.Column('release_number', sa.String(length=18), nullable=False),
    sa.Column('declaration_number', sa.String(length=18), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('container', sa.String(length=11), nullable=True),
    sa.Column('plate', sa.String(length=35), nullable=True),
    sa.Column('seals', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_release_container_release_id_release')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_container'))
    )
    op.create_index('ix_release_container_container', 'release_container', ['container', 'release_id'], unique=False)
    op.create_index('ix_release_container_plate', 'release_container', ['plate', 'release_id'], unique=False)
    op.create_index('ix_release_container_release', 'release_container', ['release_number', 'id'], unique=False)
    op.create_table('gate_exit',
    sa.Column('id', _ID, nullable=False),
    sa.Column('release_container_id', _ID, nullable=False),
    sa.Column('release_number', sa.String(length=18), nullable=False),
    sa.Column('container', sa.String(length=11), nullable=True),
    sa.Column('plate', sa.String(length=35), nullable=True),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('gated_by', sa.String(length=120), nullable=False),
    sa.Column('gated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['release_container_id'], ['release_container.id'], name=op.f('fk_gate_exit_release_container_id_release_container')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_exit')),
    sa.UniqueConstraint('release_container_id', name=op.f('uq_gate_exit_release_container_id'))
    )
    op.create_index('ix_gate_exit_container', 'gate_exit', ['container'], unique=False)
    op.create_table('gate_check',
    sa.Column('id', _ID, nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=True),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('checked_by', sa.String(length=120), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('container', sa.String(length=11), nullable=True),
    sa.Column('plate', sa.String(length=35), nullable=True),
    sa.Column('release_number', sa.String(length=18), nullable=True),
    sa.Column('seal', sa.String(length=35), nullable=True),
    sa.Column('decision', sa.String(length=4), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_check')),
    sa.UniqueConstraint('ref', name=op.f('uq_gate_check_ref'))
    )
    op.create_index('ix_gate_check_office', 'gate_check', ['office', 'id'], unique=False)
    op.create_table('gate_hold',
    sa.Column('id', _ID, nullable=False),
    sa.Column('container', sa.String(length=11), nullable=False),
    sa.Column('office', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('held_by', sa.String(length=120), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=120), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_hold'))
    )
    op.create_index('ix_gate_hold_container', 'gate_hold', ['container', 'lifted_at'], unique=False)
    op.create_table('gate_feed',
    sa.Column('id', _ID, nullable=False),
    sa.Column('office', sa.String(length=8), nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.String(length=18), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_feed'))
    )
    op.create_index('ix_gate_feed_office', 'gate_feed', ['office', 'id'], unique=False)
    _backfill()


def _backfill() -> None:
    """Release lines of the releases made before this migration, from their declarations' content."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT r.id, d.payload, r.number, d.number, d.office, r.released_at FROM release r JOIN declaration d ON d.id = r.declaration_id ORDER BY r.id'
    )).all()
    table = sa.table(
        'release_container', sa.column('release_id'), sa.column('release_number'), sa.column('declaration_number'), sa.column('office'),
        sa.column('released_at'), sa.column('container'), sa.column('plate'), sa.column('seals', sa.JSON()),
    )
    lines = []
    for release_id, payload, number, declaration, office, released_at in rows:
        data = json.loads(payload) if isinstance(payload, str) else payload
        transport = data.get('transport') or {}
        vehicle = str(transport.get('vehicle') or '').strip().upper() or None
        boxes = [c for c in data.get('containers') or [] if isinstance(c, dict)]
        for box in boxes or ([{}] if vehicle else []):
            lines.append({
                'release_id': release_id, 'release_number': number, 'declaration_number': declaration, 'office': office,
                'released_at': released_at, 'container': box.get('number'), 'plate': vehicle, 'seals': [str(s) for s in box.get('seals') or []],
            })
    if lines:
        op.bulk_insert(table, lines)


def downgrade() -> None:
    for name in ('gate_feed', 'gate_hold', 'gate_check', 'gate_exit', 'release_container'):
        op.drop_table(name)
