"""The audit trail: every change to trial data, field by field, in a SHA-256 hash chain.

How a change is written
-----------------------
Changes are made inside :func:`unit_of_work` (every use case opens one), which names the actor and
the reason and owns the transaction. Session events then do the rest, in the same transaction as
the change itself:

* ``before_flush`` refuses a change with no unit of work, an update or delete without a reason
  (a reason is required for any change after first entry), any change to an append-only record
  (custody events) and any attempt to write audit rows through the ORM; it reads the rows about to
  be changed or deleted *from the database*, as they are stored.
* ``after_flush`` reads the created and changed rows back and writes one :class:`AuditEntry` per
  field that changed: ``create`` (old value empty), ``update`` and ``delete`` (new value empty).
  Values are canonical JSON text; a JSON object column is audited key by key
  (``cells.r_c5_motor``); columns in ``__audit_concealed__`` are audited as a salted SHA-256 (a
  concealed allocation must not be readable in the trail); the row ``version`` is audited like
  any field (a record's history shows which version each change made); ``id`` (it is the
  ``entity_id``) and ``__audit_exclude__`` are not audited. ``entity_id`` is the record's integer
  id as decimal digits (``"12"``), never anything else.
* ORM bulk ``insert``/``update``/``delete`` statements on audited tables are refused: they would
  bypass the events.

The chain
---------
Rows are numbered ``seq`` = 1, 2, 3 ... without gaps. ``row_hash`` = SHA-256 of the canonical JSON
array ``[seq, at, actor, action, entity, entity_id, field, old_value, new_value, reason,
prev_hash]``, where ``prev_hash`` is the previous row's ``row_hash`` (64 zeros for the first). On
PostgreSQL writers take a transaction-scoped advisory lock before appending, so concurrent
transactions extend the chain one after the other; on SQLite the database's single writer lock does
the same. ``seq`` is the primary key: a fork would be a duplicate key, never a silent branch.

:func:`verify_audit` walks the chain and reports every row whose content no longer matches its
hash (altered), every gap in ``seq`` (deleted rows) and every row that does not follow its
predecessor (inserted, or a neighbour deleted); it then replays the trail and compares it with the
tables, reporting data changed without an audit row (which also catches rows deleted from the end
of the trail). A chain without a secret can be rewritten whole by someone who recomputes every hash:
keep the head (:func:`audit_head`) somewhere else -- the trial master file, a report -- and pass
it back as an anchor to prove the trail has not been rewritten since: a recomputed chain has other
hashes, so the recorded head is no longer in it.

Rows written by migrations
--------------------------
Two actions are written only by migrations, never by a use case: ``rekey`` (the record's id was
recorded wrongly; ``entity_id`` is the right id, ``old_value`` the id as it was recorded) and
``baseline`` (a field the trail did not cover until then, with its stored value, e.g. ``version``
when migration 0008 began auditing it). Replaying the trail applies them like the rows of users:
a ``rekey`` moves the record's replayed state to its right id, a ``baseline`` sets the field.
Older rows are never changed: the chain stays verifiable and every anchor stays in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from sqlalchemy import String, Table, cast, event, insert, select, text
from sqlalchemy.engine import Connection, Row, RowMapping
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.session import ORMExecuteState

from cordtrial.trial.errors import (
    AuditError,
    ConflictError,
    InvalidValueError,
    ReasonRequiredError,
)
from cordtrial.trial.models import AuditEntry, Base, Record
from cordtrial.trial.rules.checks import MAX_REASON_LENGTH, check_text

__all__ = [
    "BASELINE",
    "GENESIS_HASH",
    "REKEY",
    "WRITE_OPTION",
    "Anchor",
    "AuditContext",
    "AuditProblem",
    "AuditReport",
    "audit_head",
    "check_anchor",
    "entry_hash",
    "record_fields",
    "to_text",
    "unit_of_work",
    "verify_audit",
]

#: Execution option of a connection that begins a unit of work (see database.py).
WRITE_OPTION = "cordtrial_unit_of_work"
#: ``prev_hash`` of the first row.
GENESIS_HASH = "0" * 64
Action = Literal["create", "update", "delete"]
#: Actions of rows that migrations append to repair the trail (see the module docstring).
REKEY: Final = "rekey"
BASELINE: Final = "baseline"
#: Anchors: a head hash, or ``(seq, row_hash)``.
Anchor = str | tuple[int, str]

_CONTEXT = "cordtrial.audit.context"
_PENDING = "cordtrial.audit.pending"
_NOT_AUDITED = frozenset({"id"})
# Any constant: the key of the PostgreSQL advisory lock that serializes appends to the chain.
_PG_LOCK_KEY = 0x636F7264


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who makes the changes of a unit of work, and why."""

    actor: str
    reason: str | None


@contextmanager
def unit_of_work(session: Session, actor: str, reason: str | None = None) -> Iterator[Session]:
    """Make audited changes in one transaction: commit on success, roll back on any error.

    Parameters
    ----------
    session : Session
        A session with no unsaved changes; a transaction that has only read is ended first.
    actor : str
        Who makes the changes (a user name).
    reason : str, optional
        Why; required when a record is changed or deleted after its first entry.

    Raises
    ------
    AuditError
        When ``actor`` is blank, a unit of work is already open, or the session holds changes
        made outside one.
    """
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidValueError("actor", actor, "the name of who makes the change", "is empty")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise InvalidValueError("reason", reason, "a reason in words, or none", "is empty")
    if reason is not None:
        check_text("reason", reason, max_length=MAX_REASON_LENGTH)
    if _CONTEXT in session.info:
        raise AuditError("a unit of work is already open on this session")
    if session.new or session.dirty or session.deleted:
        raise AuditError("the session holds changes made outside a unit of work")
    if session.in_transaction():
        # End a read-only transaction: the changes start from a fresh snapshot, so a record
        # changed meanwhile by someone else fails its version check instead of being
        # overwritten (on SQLite a stale snapshot could not write at all).
        session.commit()
    session.info[_CONTEXT] = AuditContext(actor.strip(), reason.strip() if reason else None)
    try:
        # Begin now, as a writer: on SQLite this takes the write lock up front (BEGIN
        # IMMEDIATE), so concurrent units of work wait for each other instead of failing on a
        # stale snapshot.
        session.connection(execution_options={WRITE_OPTION: True})
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        table = re.search(r"table '(\w+)'", str(exc))
        raise ConflictError(table.group(1) if table else "record", None) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_CONTEXT, None)
        session.info.pop(_PENDING, None)


# --- values as text ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


#: ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``, and the
#: same unsorted: the encoders made once (``json.dumps`` builds one per call, a third of the cost
#: of a short value). Encoding keeps no state between calls.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def to_text(value: Any) -> str:
    """A value as canonical JSON text (dates ISO 8601, moments in UTC, keys sorted)."""
    return _CANONICAL_JSON(_plain(value))


def _concealed(salt: str, value: Any) -> str:
    digest = hashlib.sha256(f"{salt}:{to_text(value)}".encode()).hexdigest()
    return to_text(f"concealed sha256:{digest}")


def record_fields(cls: type[Record], row: Mapping[Any, Any]) -> dict[str, str]:
    """The audited fields of a stored row, as the trail writes them (field name -> JSON text)."""
    fields: dict[str, str] = {}
    for column in cls.__table__.columns:
        name = column.key
        if name in _NOT_AUDITED or name in cls.__audit_exclude__:
            continue
        value = row[name]
        if name in cls.__audit_concealed__:
            fields[name] = _concealed(str(row.get("salt", "")), value)
        elif isinstance(value, dict) and value:
            for key, item in value.items():
                fields[f"{name}.{key}"] = to_text(item)
        else:
            fields[name] = to_text(value)
    return fields


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    field: str,
    old_value: str | None,
    new_value: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of an audit row's content and the previous row's hash."""
    return _content_hash(
        [seq, at, actor, action, entity, entity_id, field, old_value, new_value, reason, prev_hash]
    )


def _content_hash(content: list[Any]) -> str:
    """:func:`entry_hash` of the row's values in its order (``content`` is changed): the moment
    in UTC with microseconds, the list as compact JSON (UTF-8, not ASCII-escaped)."""
    content[1] = content[1].astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(_COMPACT_JSON(content).encode()).hexdigest()


# --- writing -------------------------------------------------------------------------------------


@dataclass
class _Pending:
    context: AuditContext
    created: list[Record]
    changed: list[tuple[type[Record], int]]
    deleted: list[tuple[type[Record], int]]
    before: dict[tuple[str, int], dict[str, str]]


def _fetch(connection: Connection, cls: type[Record], ids: Iterable[int]) -> dict[int, RowMapping]:
    table: Table = cls.__table__  # type: ignore[assignment]
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = connection.execute(select(table).where(table.c.id.in_(wanted))).mappings()
    return {row["id"]: row for row in rows}


def _by_class(items: Iterable[tuple[type[Record], int]]) -> dict[type[Record], list[int]]:
    grouped: dict[type[Record], list[int]] = {}
    for cls, key in items:
        grouped.setdefault(cls, []).append(key)
    return grouped


def _describe(obj: Record) -> str:
    return f"{obj.__tablename__} {obj.id}"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    session.info.pop(_PENDING, None)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry):
            raise AuditError("audit entries are written by the audit trail only, never changed")
    created = [o for o in session.new if isinstance(o, Record)]
    changed_objs = [
        o
        for o in session.dirty
        if isinstance(o, Record) and session.is_modified(o, include_collections=False)
    ]
    deleted_objs = [o for o in session.deleted if isinstance(o, Record)]
    if not (created or changed_objs or deleted_objs):
        return
    context = session.info.get(_CONTEXT)
    if not isinstance(context, AuditContext):
        first = (created or changed_objs or deleted_objs)[0]
        raise AuditError(
            f"{first.__tablename__}: changes must be made in a unit of work that names who "
            "makes them (a cordtrial.trial use case, or cordtrial.trial.audit.unit_of_work)"
        )
    for obj, action in [(o, "change") for o in changed_objs] + [
        (o, "delete") for o in deleted_objs
    ]:
        if obj.__append_only__:
            raise AuditError(f"{_describe(obj)}: {obj.__tablename__} records are append-only")
        if context.reason is None:
            raise ReasonRequiredError(obj.__tablename__, obj.id, action)
    pending = _Pending(
        context=context,
        created=created,
        changed=[(type(o), o.id) for o in changed_objs],
        deleted=[(type(o), o.id) for o in deleted_objs],
        before={},
    )
    connection = session.connection()
    for cls, ids in _by_class(pending.changed + pending.deleted).items():
        for key, row in _fetch(connection, cls, ids).items():
            pending.before[(cls.__tablename__, key)] = record_fields(cls, row)
    session.info[_PENDING] = pending


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending = session.info.pop(_PENDING, None)
    if not isinstance(pending, _Pending):
        return
    connection = session.connection()
    after: dict[tuple[str, int], dict[str, str]] = {}
    targets = [(type(o), o.id) for o in pending.created] + pending.changed
    for cls, ids in _by_class(targets).items():
        for key, row in _fetch(connection, cls, ids).items():
            after[(cls.__tablename__, key)] = record_fields(cls, row)

    changes: list[tuple[Action, str, int, str, str | None, str | None]] = []
    for obj in pending.created:
        entity = obj.__tablename__
        for field, value in after[(entity, obj.id)].items():
            changes.append(("create", entity, obj.id, field, None, value))
    for cls, key in pending.changed:
        entity = cls.__tablename__
        if (entity, key) not in after:
            # Changed, then deleted by the flush itself (a delete-orphan cascade).
            pending.deleted.append((cls, key))
            continue
        old_fields, new_fields = pending.before[(entity, key)], after[(entity, key)]
        for field in [*old_fields, *(f for f in new_fields if f not in old_fields)]:
            old, new = old_fields.get(field), new_fields.get(field)
            if old != new:
                changes.append(("update", entity, key, field, old, new))
    for cls, key in pending.deleted:
        entity = cls.__tablename__
        for field, value in pending.before[(entity, key)].items():
            changes.append(("delete", entity, key, field, value, None))
    if changes:
        _append(connection, pending.context, changes)


def _append(
    connection: Connection,
    context: AuditContext,
    changes: Sequence[tuple[Action, str, int, str, str | None, str | None]],
) -> None:
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = connection.execute(
        select(table.c.seq, table.c.row_hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (0, GENESIS_HASH) if last is None else (last.seq, last.row_hash)
    at = datetime.now(UTC)
    rows = []
    for action, entity, key, field, old, new in changes:
        if type(key) is not int:
            raise AuditError(f"{entity}: record id {key!r} is not an integer; nothing was stored")
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor": context.actor,
            "action": action,
            "entity": entity,
            "entity_id": str(key),
            "field": field,
            "old_value": old,
            "new_value": new,
            "reason": context.reason,
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = entry_hash(**row)
        rows.append(row)
    connection.execute(insert(table), rows)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, Record | AuditEntry):
            raise AuditError(
                f"{mapper.class_.__tablename__}: bulk INSERT/UPDATE/DELETE statements bypass the "
                "audit trail; change records through the ORM in a unit of work"
            )


# --- verifying -----------------------------------------------------------------------------------

ProblemKind = Literal["altered", "missing", "broken link", "anchor", "unaudited"]


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One thing wrong with the audit trail.

    ``kind`` is ``altered`` (a row's content no longer matches its hash), ``missing`` (rows
    deleted: a gap in ``seq``), ``broken link`` (a row does not follow the one before it: a row
    inserted, or its predecessor replaced), ``anchor`` (a recorded head is no longer in the
    chain: the trail was rewritten, its hashes recomputed) or ``unaudited`` (stored data that
    the trail does not account for).
    """

    kind: ProblemKind
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"row {self.seq}: " if self.seq is not None else ""
        return f"{self.kind}: {where}{self.detail}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The result of :func:`verify_audit`."""

    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.entries} audit entries, head {self.head_seq} {self.head_hash}"
        if self.ok:
            return f"{head}: chain intact, every stored value accounted for"
        return "\n".join([f"{head}: {len(self.problems)} problem(s)", *map(str, self.problems)])


def audit_head(session: Session) -> tuple[int, str]:
    """The last row of the chain as ``(seq, row_hash)``; ``(0, GENESIS_HASH)`` when empty."""
    table = AuditEntry.__table__
    last = session.execute(
        select(table.c.seq, table.c.row_hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if last is None else (last.seq, last.row_hash)


def check_anchor(anchor: str) -> str:
    """A head hash as given (any case, surrounding blanks), or InvalidValueError."""
    value = anchor.strip().lower() if isinstance(anchor, str) else anchor
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise InvalidValueError(
            "anchor", anchor, "a head hash of the audit trail: 64 hexadecimal digits"
        )
    return value


def verify_audit(
    session: Session, anchors: Iterable[Anchor] = (), *, reconcile: bool = True
) -> AuditReport:
    """Check the hash chain, recorded anchors and (by default) the tables against the trail.

    The trail is read in pages of its primary key and the tables a few hundred records at a
    time, each with its own rows of the trail (an index by record): memory stays flat however
    long the trail grows. On PostgreSQL a session that has not begun a transaction reads in one
    ``REPEATABLE READ`` snapshot (SQLite's reads share one anyway).

    Parameters
    ----------
    session : Session
        Any session; only reads.
    anchors : iterable of str or (seq, row_hash)
        Heads recorded earlier (see :func:`audit_head`): a row hash, which must still be the
        hash of a row of the chain, or ``(seq, row_hash)``, which must be the hash of row
        ``seq``. A chain rewritten and recomputed since loses its old hashes.
    reconcile : bool
        Also replay the trail and compare it with every audited table.
    """
    wanted = [
        (None, check_anchor(anchor)) if isinstance(anchor, str) else anchor for anchor in anchors
    ]
    by_hash = {expected for anchor_seq, expected in wanted if anchor_seq is None}
    by_seq = {anchor_seq for anchor_seq, _ in wanted if anchor_seq is not None}
    found = {GENESIS_HASH} & by_hash
    hashes: dict[int, str] = {}
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problems: list[AuditProblem] = []
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for row in _chain(session):
        count += 1
        seq, row_hash = row[0], row[-1]
        if _content_hash(list(row[:-1])) != row_hash:  # the columns of _HASHED
            problems.append(AuditProblem("altered", seq, "its content does not match its hash"))
        if seq != expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            problems.append(AuditProblem("missing", seq, f"row(s) {gap} before it are gone"))
        elif row[-2] != prev_hash:
            problems.append(
                AuditProblem(
                    "broken link",
                    seq,
                    "it does not follow the row before it (a row was inserted or replaced)",
                )
            )
        if row_hash in by_hash:
            found.add(row_hash)
        if seq in by_seq:
            hashes[seq] = row_hash
        expected_seq, prev_hash = seq + 1, row_hash
    for anchor_seq, expected in wanted:
        ok = expected in found if anchor_seq is None else hashes.get(anchor_seq) == expected
        if not ok:
            problems.append(
                AuditProblem(
                    "anchor",
                    anchor_seq,
                    f"the recorded head {expected[:12]}... is not in the chain (the trail was "
                    "rewritten, or the anchor belongs to another store)",
                )
            )
    if reconcile:
        problems.extend(_reconcile(session))
    head_seq = expected_seq - 1 if count else 0
    return AuditReport(count, head_seq, prev_hash, tuple(problems))


_AnyRow = Row[*tuple[Any, ...]]
#: Columns in the order :func:`entry_hash` takes them, then ``row_hash``.
_HASHED = ("seq", "at", "actor", "action", "entity", "entity_id", "field", "old_value",
           "new_value", "reason", "prev_hash")  # fmt: skip
#: Rows of the trail read per query, and records of a table reconciled per query.
_CHAIN_PAGE = 5000
_RECORD_BATCH = 500


def _chain(session: Session) -> Iterator[_AnyRow]:
    """The trail in ``seq`` order, a page at a time (keyset paging on the primary key)."""
    table = AuditEntry.__table__
    columns = [table.c[name] for name in (*_HASHED, "row_hash")]
    last: int | None = None
    while True:
        query = select(*columns).order_by(table.c.seq).limit(_CHAIN_PAGE)
        if last is not None:
            query = query.where(table.c.seq > last)
        page = session.execute(query).all()
        yield from page
        if len(page) < _CHAIN_PAGE:
            return
        last = page[-1][0]


_State = dict[tuple[str, str], dict[str, str]]


def _replay(state: _State, deleted: set[tuple[str, str]], row: _AnyRow) -> None:
    # a row of _replay_records: (seq, entity, entity_id, action, field, old_value, new_value)
    _, entity, entity_id, action, field, old_value, new_value = row
    key = (entity, entity_id)
    if action == REKEY:
        old_key = (entity, json.loads(old_value))
        if old_key in state:
            state[key] = state.pop(old_key)
        if old_key in deleted:
            deleted.discard(old_key)
            deleted.add(key)
        return
    if action == "delete":
        state.pop(key, None)
        deleted.add(key)
        return
    fields = state.setdefault(key, {})
    deleted.discard(key)
    if new_value is None:
        fields.pop(field, None)
    else:
        fields[field] = new_value


def _replay_records(
    session: Session, entity: str, keys: Collection[str]
) -> tuple[_State, set[tuple[str, str]]]:
    """Replay the trail of the records ``keys`` of ``entity`` (their rows only, in chain order).

    A record's replayed state depends on its own rows alone, except across a ``rekey``: callers
    replay the records a rekey links in one call (see :func:`_linked`).
    """
    table = AuditEntry.__table__
    state: _State = {}
    deleted: set[tuple[str, str]] = set()
    wanted = sorted(keys)
    columns = (table.c.seq, table.c.entity, table.c.entity_id, table.c.action, table.c.field,
               table.c.old_value, table.c.new_value)  # fmt: skip
    chunks = [wanted[i : i + _RECORD_BATCH] for i in range(0, len(wanted), _RECORD_BATCH)]
    if len(chunks) == 1:
        query = select(*columns).where(table.c.entity == entity, table.c.entity_id.in_(chunks[0]))
        result = session.execute(query.order_by(table.c.seq), execution_options={"yield_per": 2000})
        for partition in result.partitions():  # a list of rows at a time, not one per call
            for row in partition:
                _replay(state, deleted, row)
    elif chunks:  # rekey-linked records, rarely many: read them whole, then replay in order
        rows = [
            row
            for chunk in chunks
            for row in session.execute(
                select(*columns).where(table.c.entity == entity, table.c.entity_id.in_(chunk))
            )
        ]
        for row in sorted(rows, key=lambda r: r.seq):
            _replay(state, deleted, row)
    return state, deleted


def _linked(session: Session, entity: str) -> set[str]:
    """The ids of ``entity`` that a ``rekey`` row names (as right id or as recorded id)."""
    table = AuditEntry.__table__
    linked: set[str] = set()
    query = select(table.c.entity_id, table.c.old_value).where(
        table.c.action == REKEY, table.c.entity == entity
    )
    for entity_id, old_value in session.execute(query):
        linked.add(entity_id)
        old = json.loads(old_value or "null")
        if isinstance(old, str):
            linked.add(old)
    return linked


def _audited_classes() -> list[type[Record]]:
    return [
        m.class_
        for m in Base.registry.mappers
        if issubclass(m.class_, Record) and not m.class_.__dict__.get("__abstract__", False)
    ]


def _reconcile(session: Session) -> Iterator[AuditProblem]:
    """Compare every audited table with the replayed trail, a batch of records at a time; then
    report the records the trail holds that are gone from the tables without a delete."""
    gone: list[tuple[str, str]] = []
    classes = {cls.__tablename__: cls for cls in _audited_classes()}
    for entity in sorted(classes):
        yield from _reconcile_table(session, classes[entity], gone)
    table = AuditEntry.__table__
    others = session.scalars(
        select(table.c.entity).where(table.c.entity.not_in(sorted(classes))).distinct()
    ).all()
    for entity in others:
        gone.extend(_gone(session, entity, None, set()))
    for key in sorted(gone):
        yield AuditProblem(
            "unaudited", None, f"{key[0]} {key[1]} is gone but the trail never deleted it"
        )


def _reconcile_table(
    session: Session, cls: type[Record], gone: list[tuple[str, str]]
) -> Iterator[AuditProblem]:
    entity = cls.__tablename__
    table: Table = cls.__table__  # type: ignore[assignment]
    linked = _linked(session, entity)
    linked_state, linked_deleted = _replay_records(session, entity, linked)
    seen_linked: set[tuple[str, str]] = set()
    last: int | None = None
    while True:
        query = select(table).order_by(table.c.id).limit(_RECORD_BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = session.execute(query).mappings().all()
        if not rows:
            break
        last = rows[-1]["id"]
        keys = [str(row["id"]) for row in rows]
        state, deleted = _replay_records(session, entity, [k for k in keys if k not in linked])
        state.update(linked_state)
        deleted |= linked_deleted
        for row, record_id in zip(rows, keys, strict=True):
            key = (entity, record_id)
            if record_id in linked:
                seen_linked.add(key)
            name = f"{entity} {record_id}"
            if key not in state:
                why = "was deleted" if key in deleted else "has no audit entry"
                yield AuditProblem("unaudited", None, f"{name} exists but {why}")
                continue
            stored, trail = record_fields(cls, row), state[key]
            for field in sorted(stored.keys() | trail.keys()):
                if stored.get(field) != trail.get(field):
                    yield AuditProblem(
                        "unaudited",
                        None,
                        f"{name} {field}: stored {stored.get(field)}, "
                        f"the trail says {trail.get(field)}",
                    )
    gone.extend(sorted(linked_state.keys() - seen_linked))
    gone.extend(_gone(session, entity, table, linked))


def _gone(
    session: Session, entity: str, table: Table | None, linked: set[str]
) -> Iterator[tuple[str, str]]:
    """Records of ``entity`` the trail holds (not deleted) that ``table`` lacks (all of them
    when there is no table), a page of ids at a time; ``linked`` ids are left to the caller."""
    audit = AuditEntry.__table__
    last: str | None = None
    while True:
        query = select(audit.c.entity_id).where(audit.c.entity == entity)
        if table is not None:
            query = query.where(audit.c.entity_id.not_in(select(cast(table.c.id, String))))
        if last is not None:
            query = query.where(audit.c.entity_id > last)
        page = session.scalars(
            query.group_by(audit.c.entity_id).order_by(audit.c.entity_id).limit(_RECORD_BATCH)
        ).all()
        if not page:
            return
        last = page[-1]
        state, _ = _replay_records(session, entity, [k for k in page if k not in linked])
        yield from state
