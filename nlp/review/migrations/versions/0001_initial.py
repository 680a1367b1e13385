"""The review database: documents, claims, annotators, changes, submissions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lowest_confidence", sa.Float(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    for column in ("lang", "status", "lowest_confidence"):
        op.create_index(f"ix_documents_{column}", "documents", [column])
    op.create_table(
        "annotators",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(200),
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_claims_document_id", "claims", ["document_id"])
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(200),
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("annotator", sa.String(64), sa.ForeignKey("annotators.name"),
                  nullable=False),
        sa.Column("at", NOW, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_changes_document_id", "changes", ["document_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(200),
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotator", sa.String(64), sa.ForeignKey("annotators.name"),
                  nullable=False),
        sa.Column("at", NOW, nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
    )
    op.create_index("ix_submissions_document_id", "submissions", ["document_id"])


def downgrade() -> None:
    for table in ("submissions", "changes", "claims", "annotators", "documents"):
        op.drop_table(table)
