"""roster draw: each officer's open tasks kept with the assignments; their chapters as a mask

The draw read every candidate's load by counting open assignments (a correlated count per
officer, for hundreds of officers) and checked qualifications in Python on every on-duty officer.
Now the count is kept in `roster_load` by the statements that open and close assignments, and
the chapters are stored beside their spec as 97 characters ('1' at chapter n's place) that the
draw's statement filters with one LIKE pattern. Both backfilled here.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _mask(spec: str) -> str:
    """'84-85,90' → 97 characters with '1' at places 84, 85 and 90 (the stored spec is canonical and valid)."""
    held: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        held.update(range(int(lo), int(hi or lo) + 1))
    return "".join("1" if n in held else "0" for n in range(1, 98))


def upgrade() -> None:
    op.create_table('roster_load',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('open_tasks', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_roster_load_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_roster_load'))
    )
    op.execute(
        "INSERT INTO roster_load (user_id, open_tasks) "
        "SELECT user_id, count(*) FROM roster_assignment WHERE released_at IS NULL GROUP BY user_id"
    )
    with op.batch_alter_table('roster_officer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chapter_mask', sa.String(length=97), nullable=False, server_default="0" * 97))
    conn = op.get_bind()
    officer = sa.table('roster_officer', sa.column('user_id', sa.Integer()), sa.column('chapters', sa.String()), sa.column('chapter_mask', sa.String()))
    for user_id, spec in conn.execute(sa.select(officer.c.user_id, officer.c.chapters)).all():
        conn.execute(sa.update(officer).where(officer.c.user_id == user_id).values(chapter_mask=_mask(spec)))
    with op.batch_alter_table('roster_officer', schema=None) as batch_op:
        batch_op.alter_column('chapter_mask', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('roster_officer', schema=None) as batch_op:
        batch_op.drop_column('chapter_mask')
    op.drop_table('roster_load')
