"""Column types shared by every module: aware UTC times and string-backed enums."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

SHANGHAI = ZoneInfo("Asia/Shanghai")


def aware(when: datetime | None) -> datetime | None:
    """A time without an offset means Asia/Shanghai (the contract); pages and API alike."""
    if when is None:
        return None
    return when.replace(tzinfo=SHANGHAI) if when.tzinfo is None else when


def iso(value: datetime | None) -> str | None:
    """An aware time for the API: ISO 8601 with Beijing's offset (the contract)."""
    return value.astimezone(SHANGHAI).isoformat() if value else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back an aware datetime, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are aware (stored UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], length: int = 32, name: str | None = None) -> sa.Enum:
    """An enum stored as its value in a VARCHAR with a CHECK: portable and readable in SQL.

    `name` names the CHECK constraint; give one when a table has two columns of the same enum.
    """
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
        name=name or enum_cls.__name__.lower(),
    )


# Tables the migrations make that no model describes: SQLite's search index of the needs (a
# virtual table and its shadow tables, migration need_search). Autogenerate and the schema's
# test leave them alone.
NOT_MODELLED = frozenset(("need_search", "need_search_data", "need_search_idx",
                          "need_search_docsize", "need_search_config", "need_search_content"))


def modelled(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: whether a table of the database is one of the models'."""
    return not (type_ == "table" and name in NOT_MODELLED)


def dialect() -> str:
    """The database the session works on ("postgresql" or "sqlite"), for the statements written
    for each."""
    from portal.extensions import db

    return db.session.get_bind().dialect.name


MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER; SQLite's is wider, the API's is this on both


def parse_id(value: str | None) -> int | None:
    """An id from text (a path, a query, an audit object id): ASCII digits in range, or None."""
    if value and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    return None


def body_id(value) -> int | None:
    """An id from a JSON body: an integer (not a bool) the database can hold, or None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


class BoundedInt(IntegerConverter):
    """<int:...> in routes, limited to what the database can hold: a larger id is a 404, not a
    database overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
