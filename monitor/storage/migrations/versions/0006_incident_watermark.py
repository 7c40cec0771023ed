"""incident watermark: writers at work, complaints left to place, the placed frontier, checkpoint ids

Several processes storing mentions at once place complaints in incidents in event order only up to
the oldest position among them (see monitor.incidents.watermark); what lies beyond waits in
incident_pending, so a process killed with -9 loses nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.storage.schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_writers",
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("progress_at", monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("progress_platform", sa.String(length=50), nullable=False),
        sa.Column("progress_external_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", monitor.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder"),
    )
    op.create_table(
        "incident_pending",
        sa.Column("mention_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mention_pk"], ["mentions.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_pk"),
    )
    with op.batch_alter_table("incident_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frontier_at", monitor.storage.schema.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("frontier_platform", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("frontier_external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("rewrites", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("checkpoint_seq", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("incident_state", schema=None) as batch_op:
        batch_op.drop_column("checkpoint_seq")
        batch_op.drop_column("rewrites")
        batch_op.drop_column("frontier_external_id")
        batch_op.drop_column("frontier_platform")
        batch_op.drop_column("frontier_at")
    op.drop_table("incident_pending")
    op.drop_table("incident_writers")
