"""The review database: documents, their claims, who changed what, through SQLAlchemy.

SQLite by default (a file next to the user, nothing to set up), PostgreSQL for a team
(`postgresql://…`). The schema comes from the Alembic migrations, applied on open. Saves
are optimistic: each carries the version the annotator opened, and a save against a newer
version is refused, so two annotators never silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from nlp.review.models import Annotator, Change, ClaimRow, Document, Submission, utcnow
from nlp.review.records import ReviewClaim, live, problems

DEFAULT_URL = "sqlite:///claims-review.sqlite3"
MIGRATIONS = str(Path(__file__).with_name("migrations"))


class ReviewError(Exception):
    """A request the store refuses; the message is meant for the annotator."""


class NotFound(ReviewError):
    pass


class Conflict(ReviewError):
    pass


class Invalid(ReviewError):
    pass


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we depend on), not psycopg2."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ReviewError(f"{url!r} is not a database URL (sqlite:///FILE or "
                          "postgresql://USER@HOST/DB)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ReviewError(f"unsupported database {parsed.get_backend_name()!r}: use "
                          "sqlite:///FILE or postgresql://…")
    return parsed.render_as_string(hide_password=False)


def _engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False,
                                                      "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise ReviewError(f"no driver for {url.split(':')[0]}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise ReviewError(f"the database driver is not installed ({exc.name}); "
                          "pip install 'psycopg[binary]'") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (a no-op when it is there)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; we only store UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


@dataclass
class StoredDocument:
    id: str
    lang: str
    text: str
    meta: dict[str, Any] | None
    status: str
    claims: list[ReviewClaim]
    predictions: list[Any] | None


class Store:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = _engine(url)
        try:
            migrate(self.engine)
        except OperationalError as exc:
            raise ReviewError(f"cannot open the review database {make_url(url)!r}: "
                              f"{exc.orig}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # -- import ------------------------------------------------------------------------
    def has(self, doc_id: str) -> bool:
        with self.session() as s:
            return s.get(Document, doc_id) is not None

    def add_document(self, doc_id: str, lang: str, text: str, claims: list[ReviewClaim],
                     *, meta: dict[str, Any] | None = None,
                     entities: list[dict[str, Any]] | None = None,
                     predictions: list[dict[str, Any]] | None = None) -> None:
        for i, claim in enumerate(claims):
            if found := problems(text, lang, claim):
                raise Invalid(f"claims[{i}]: {'; '.join(found)}")
        confidences = [c.confidence for c in claims if c.confidence is not None]
        with self.session() as s:
            if s.get(Document, doc_id) is not None:
                raise Invalid(f"document {doc_id!r} is already in the database")
            reviewed = any(c.status != "pending" for c in claims)
            s.add(Document(
                id=doc_id, lang=lang, text=text, meta=meta, entities=entities or [],
                predictions=predictions, status="done" if reviewed else "new", version=1,
                lowest_confidence=min(confidences) if confidences else None,
                claims=[_row(i, c) for i, c in enumerate(claims)]))

    # -- reading -----------------------------------------------------------------------
    def list_documents(self, lang: str | None = None, status: str | None = None,
                       limit: int = 200, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        live = (select(ClaimRow.document_id, func.count().label("n"))
                .where(ClaimRow.status != "rejected").group_by(ClaimRow.document_id)
                .subquery())
        query = select(Document, func.coalesce(live.c.n, 0)).outerjoin(
            live, live.c.document_id == Document.id)
        counting = select(func.count()).select_from(Document)
        for column, wanted in ((Document.lang, lang), (Document.status, status)):
            if wanted:
                query = query.where(column == wanted)
                counting = counting.where(column == wanted)
        query = query.order_by(*_queue_order()).limit(limit).offset(offset)
        with self.session() as s:
            total = s.scalar(counting) or 0
            rows = [{"id": d.id, "lang": d.lang, "status": d.status, "n_claims": n,
                     "lowest_confidence": d.lowest_confidence,
                     "updated_at": iso(d.updated_at), "updated_by": d.updated_by}
                    for d, n in s.execute(query)]
        return total, rows

    def next_document(self, lang: str | None = None) -> str | None:
        """The least confident document nobody has finished (untouched ones first)."""
        query = select(Document.id).where(Document.status != "done")
        if lang:
            query = query.where(Document.lang == lang)
        query = query.order_by(Document.status == "in_progress", *_queue_order()).limit(1)
        with self.session() as s:
            return s.scalar(query)

    def get(self, doc_id: str) -> dict[str, Any]:
        with self.session() as s:
            doc = _document(s, doc_id)
            return {"id": doc.id, "lang": doc.lang, "text": doc.text, "meta": doc.meta,
                    "status": doc.status, "version": doc.version,
                    "claims": [_claim(row).model_dump() for row in doc.claims],
                    "entities": doc.entities, "updated_at": iso(doc.updated_at),
                    "updated_by": doc.updated_by}

    def history(self, doc_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            _document(s, doc_id)
            changes = s.scalars(select(Change).where(Change.document_id == doc_id)
                                .order_by(Change.id.desc()))
            return [{"at": iso(c.at), "annotator": c.annotator, "action": c.action,
                     "claim_id": c.claim_id, "before": c.before, "after": c.after}
                    for c in changes]

    def documents(self, status: str | None = None) -> Iterator[StoredDocument]:
        """Every document (in id order) with its current claims, for export."""
        query = select(Document).options(selectinload(Document.claims)).order_by(Document.id)
        if status:
            query = query.where(Document.status == status)
        with self.session() as s:
            for doc in s.scalars(query):
                yield _stored(doc)

    def submissions(self) -> Iterator[tuple[StoredDocument, dict[str, list[ReviewClaim]]]]:
        """Each finished document with every annotator's latest claims for it."""
        with self.session() as s:
            latest: dict[str, dict[str, list[Any]]] = {}
            for sub in s.scalars(select(Submission).order_by(Submission.id)):
                latest.setdefault(sub.document_id, {})[sub.annotator] = sub.claims
            for doc_id, by_annotator in sorted(latest.items()):
                readings = {name: [ReviewClaim.model_validate(c) for c in claims]
                            for name, claims in by_annotator.items()}
                yield _stored(_document(s, doc_id)), readings

    # -- saving ------------------------------------------------------------------------
    def save(self, doc_id: str, version: int, claims: list[ReviewClaim], annotator: str,
             status: str = "in_progress") -> dict[str, Any]:
        """Replace the document's claims with `claims`, as `annotator`, if nobody saved
        since `version`; every difference becomes a change record."""
        with self.session() as s:
            doc = _document(s, doc_id)
            _check(doc, claims)
            if doc.version != version:
                raise Conflict(_conflict(doc, version))
            old_status = doc.status
            if status == "done":  # finishing accepts what the annotator did not reject
                claims = [c.model_copy(update={"status": "accepted"})
                          if c.status == "pending" else c for c in claims]
            moved = s.execute(update(Document)
                              .where(Document.id == doc_id, Document.version == version)
                              .values(version=version + 1, status=status,
                                      updated_at=utcnow(), updated_by=annotator))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                s.refresh(doc)
                raise Conflict(_conflict(doc, version))
            if s.get(Annotator, annotator) is None:
                s.add(Annotator(name=annotator))
                s.flush()
            self._apply(s, doc, claims, annotator)
            if old_status != status:
                s.add(Change(document_id=doc_id, annotator=annotator, action="status",
                             before={"status": old_status}, after={"status": status}))
            if status == "done":
                s.add(Submission(document_id=doc_id, annotator=annotator,
                                 claims=[c.model_dump() for c in live(claims)]))
        return self.get(doc_id)

    @staticmethod
    def _apply(s: Session, doc: Document, claims: list[ReviewClaim], annotator: str) -> None:
        rows = {row.id: row for row in doc.claims}
        kept: set[int] = set()
        for position, claim in enumerate(claims):
            row = rows.get(claim.id) if claim.id is not None else None
            if row is None:
                row = _row(position, claim.model_copy(update={"origin": "annotator",
                                                             "confidence": None}))
                doc.claims.append(row)
                s.flush()
                s.add(Change(document_id=doc.id, claim_id=row.id, annotator=annotator,
                             action="add", before=None, after=claim.content()))
                kept.add(row.id)
                continue
            kept.add(row.id)
            row.position = position
            before = _claim(row).content()
            after = claim.content()
            if before == after:
                continue
            only_status = {**before, "status": after["status"]} == after
            action = _VERDICTS.get(after["status"], "edit") if only_status else "edit"
            row.status, row.data = claim.status, _data(claim)
            s.add(Change(document_id=doc.id, claim_id=row.id, annotator=annotator,
                         action=action, before=before, after=after))
        for row_id, row in rows.items():
            if row_id not in kept:
                s.add(Change(document_id=doc.id, claim_id=row_id, annotator=annotator,
                             action="delete", before=_claim(row).content(), after=None))
                doc.claims.remove(row)


_VERDICTS = {"accepted": "accept", "rejected": "reject"}


def _queue_order() -> list[Any]:
    return [Document.lowest_confidence.is_(None), Document.lowest_confidence, Document.id]


def _document(s: Session, doc_id: str) -> Document:
    doc = s.get(Document, doc_id)
    if doc is None:
        raise NotFound(f"no document {doc_id!r}")
    return doc


def _check(doc: Document, claims: list[ReviewClaim]) -> None:
    """Refuse the whole save (nothing changes) when one claim is wrong."""
    owned = {row.id for row in doc.claims}
    seen_ids: set[int] = set()
    seen_figures: dict[tuple[int, str], int] = {}
    for i, claim in enumerate(claims):
        if claim.id is not None:
            if claim.id not in owned:
                raise Invalid(f"claims[{i}]: claim id {claim.id} is not a claim of "
                              f"document {doc.id!r}")
            if claim.id in seen_ids:
                raise Invalid(f"claims[{i}]: claim id {claim.id} is given twice")
            seen_ids.add(claim.id)
        if found := problems(doc.text, doc.lang, claim):
            raise Invalid(f"claims[{i}]: {'; '.join(found)}")
        key = (claim.figure.start, claim.category)
        if claim.status != "rejected":
            if key in seen_figures:
                raise Invalid(f"claims[{i}]: a second {claim.category!r} claim for the "
                              f"figure at {claim.figure.start} (see claims[{seen_figures[key]}])")
            seen_figures[key] = i


def _conflict(doc: Document, version: int) -> str:
    who = doc.updated_by or "someone"
    when = iso(doc.updated_at) or "an unknown time"
    return (f"conflict: {who} saved this document at {when} since you opened it "
            f"(you had version {version}, it is now {doc.version}). Reload to see their "
            "changes; yours were not saved.")


def _stored(doc: Document) -> StoredDocument:
    return StoredDocument(doc.id, doc.lang, doc.text, doc.meta, doc.status,
                          [_claim(row) for row in doc.claims], doc.predictions)


def _data(claim: ReviewClaim) -> dict[str, Any]:
    return claim.model_dump(exclude={"id", "status", "origin", "confidence"})


def _row(position: int, claim: ReviewClaim) -> ClaimRow:
    return ClaimRow(position=position, status=claim.status, origin=claim.origin,
                    confidence=claim.confidence, data=_data(claim))


def _claim(row: ClaimRow) -> ReviewClaim:
    return ReviewClaim.model_validate({**row.data, "id": row.id, "status": row.status,
                                       "origin": row.origin, "confidence": row.confidence})
