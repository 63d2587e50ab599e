"""Hand-built SQL for the ingest path's statements (lock or create the session, store the chunk and the session's
new values, read a stored fingerprint): the same SQL the ORM would send, without compiling a query per batch (that
compilation was a third of a worker's CPU per batch in bench/ingest.py).

Identifiers are the models' own, quoted; every value is a parameter, prepared by its field as the ORM would.
PostgreSQL and SQLite (3.35+) both speak this SQL; SQLite has no row locks (its IMMEDIATE transactions take the
write lock instead), so there the select locks nothing.
"""

from functools import lru_cache
from typing import NamedTuple

from django.db import connection


class RowUpdate(NamedTuple):
    """An UPDATE of one row by primary key: ``values`` maps field names to new values."""

    model: type
    pk: int
    values: dict


def _cursor():
    """On PostgreSQL a cursor that binds values on the server, where Django's own quote every value into the SQL
    text (that quoting cost a worker more CPU than the statement, bench/ingest.py). Its statements are prepared
    on their connection when DB_PREPARED_STATEMENTS is on (settings: the connection's prepare_threshold), so
    PostgreSQL parses and plans each of them once per connection."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    # As connection.cursor() does: the health check (once per request; a no-op beside the pool, which checks as it
    # lends), the connection, then _prepare_cursor's wrapping (database errors wrapped, queries logged under DEBUG).
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    return connection._prepare_cursor(ServerBindingCursor(connection.connection))


def insert_unless_present(
    obj, *, unique: tuple[str, ...], serialised: dict[str, str] | None = None, then_update: RowUpdate | None = None
) -> bool:
    """INSERT ``obj`` unless a row with the same ``unique`` fields exists (ON CONFLICT DO NOTHING, no savepoint);
    True, with obj.pk set, when it was inserted. ``serialised`` maps JSON fields to their value already written
    as JSON text (the same value as the object's), which is sent as it is instead of serialised again.

    ``then_update`` is an UPDATE made only when ``obj`` was inserted: on PostgreSQL in the same statement (a
    data-modifying WITH), a round trip less than two statements."""
    meta = type(obj)._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    serialised = serialised or {}
    params = [
        _json_param(getattr(obj, field.attname), serialised[field.name])
        if field.name in serialised
        else field.get_db_prep_save(field.pre_save(obj, True), connection)
        for field in fields
    ]
    sql = _insert_sql(type(obj), unique)
    combined = then_update is not None and bool(then_update.values) and connection.vendor == "postgresql"
    if combined:
        update_sql, update_params = _update_statement(*then_update)
        # Every data-modifying WITH runs, read or not; the update's condition sees the insert's RETURNING rows.
        condition = "AND EXISTS (SELECT 1 FROM inserted)"
        sql = f"WITH inserted AS ({sql}), updated AS ({update_sql} {condition}) SELECT * FROM inserted"  # noqa: S608
        params += update_params
    with _cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, connection.alias
    if then_update is not None and not combined:
        update_row(*then_update)
    return True


def select_locked(model, **where):
    """The one row of ``model`` matching ``where`` (column=value, all of them), locked until the transaction
    ends; None when there is none."""
    names = tuple(sorted(where))
    meta = model._meta
    with _cursor() as cursor:
        cursor.execute(_select_sql(model, names, connection.features.has_select_for_update), _where_params(model, where))
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (column, converters) in zip(row, _converters(model), strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, [field.attname for field in meta.concrete_fields], values)


def select_value(model, name: str, **where):
    """Field ``name`` of a row of ``model`` matching ``where`` (column=value, all of them), as the database returns
    it (for text and numbers, no conversion); None when there is none."""
    with _cursor() as cursor:
        cursor.execute(_select_sql(model, tuple(sorted(where)), False, (name,)), _where_params(model, where))
        row = cursor.fetchone()
    return None if row is None else row[0]


def update_row(model, pk, values: dict) -> None:
    """UPDATE one row by primary key: ``values`` maps field names to new values."""
    if not values:
        return
    with _cursor() as cursor:
        cursor.execute(*_update_statement(model, pk, values))


def _update_statement(model, pk, values: dict) -> tuple[str, list]:
    """``UPDATE … SET … WHERE pk = %s`` and its parameters."""
    fields = [model._meta.get_field(name) for name in values]
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    return _update_sql(model, tuple(values)), [*params, pk]


def _json_param(value, text: str):
    """A JSON field's parameter whose JSON text is already written: jsonb for psycopg, text for SQLite."""
    if connection.vendor != "postgresql":
        return text
    from psycopg.types.json import Jsonb

    return Jsonb(value, dumps=lambda _value: text)


@lru_cache(maxsize=32)
def _converters(model) -> list[tuple]:
    """Per column, what the ORM's compiler applies to a fetched value: the backend's converters (SQLite's dates,
    UUIDs, booleans) and the field's own (JSON decoding)."""
    table = model._meta.db_table
    columns = [field.get_col(table) for field in model._meta.concrete_fields]
    return [(column, [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]) for column in columns]


@lru_cache(maxsize=32)
def _insert_sql(model, unique: tuple[str, ...]) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in unique)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
    return sql + f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}"


def _where_params(model, where: dict) -> list:
    return [model._meta.get_field(name).get_db_prep_value(where[name], connection) for name in sorted(where)]


@lru_cache(maxsize=128)
def _update_sql(model, names: tuple[str, ...]) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608


@lru_cache(maxsize=32)
def _select_sql(model, names: tuple[str, ...], lock: bool, selected: tuple[str, ...] | None = None) -> str:
    """SELECT the ``selected`` fields (all of them when None) of the rows where ``names`` equal parameters."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields if selected is None else [meta.get_field(name) for name in selected]
    columns = ", ".join(quote(field.column) for field in fields)
    conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {conditions}"  # noqa: S608
    return sql + (" FOR UPDATE" if lock else "")
