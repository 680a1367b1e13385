"""Tables of the review database (SQLAlchemy 2 declarative models).

The schema itself is created and upgraded by the Alembic migrations in `migrations/`;
these classes must describe exactly what the migrations build (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), index=True)
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    entities: Mapped[list[Any]] = mapped_column(JSON)
    # The model's claims as extracted (CLAIMS.md output shape), kept to score the model
    # against annotators; None for documents imported with reviewed claims.
    predictions: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    lowest_confidence: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    claims: Mapped[list[ClaimRow]] = relationship(
        back_populates="document", order_by="ClaimRow.position", cascade="all, delete-orphan")


class ClaimRow(Base):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    origin: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # figure, category, victims_type, spans and note, as ReviewClaim.content() gives them
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="claims")


class Annotator(Base):
    __tablename__ = "annotators"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Change(Base):
    """Who changed what, when: the before and after of one claim or of a status."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    annotator: Mapped[str] = mapped_column(ForeignKey("annotators.name"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Submission(Base):
    """An annotator's claims when they marked a document done: agreement compares these."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    annotator: Mapped[str] = mapped_column(ForeignKey("annotators.name"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claims: Mapped[list[Any]] = mapped_column(JSON)
