"""The statements that apply one entity's stage table to its target table, and count the result.

Each takes the stage's rows with the last record of each natural key (``latest``) and writes only
the fields the records carry, so a template that does not map a field never blanks it. Bound
parameters: :agency, :upload, :template, :now, and :id_prefix/:id_offset for new ids
(target/record_ids.py).

    PostgreSQL, the agency has none of the entity yet:  INSERT ... SELECT (created = rows written)
    PostgreSQL, otherwise:  MERGE ... WHEN MATCHED AND <fields differ> THEN UPDATE
                            WHEN NOT MATCHED THEN INSERT, counted over the upload's rows after
    SQLite:                 INSERT ... SELECT ... ON CONFLICT (agency, natural_key) DO UPDATE
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, TextClause, bindparam, text

from courtfeed.target.record_ids import new_id_sql
from courtfeed.target.schema import UtcDateTime


def sql_text(sql: str) -> TextClause:
    # :now is typed so it is stored exactly as SQLAlchemy stores the other timestamps.
    clause = text(sql)
    return clause.bindparams(bindparam("now", type_=UtcDateTime())) if ":now" in sql else clause


@dataclass
class Upsert:
    """The statements for one stage table and its target table."""

    dialect: str
    quote: Callable[[str], str]
    target: Table
    stage: Table
    names: list[str]  # the fields the records carry
    touch_unchanged: bool = False

    @property
    def t(self) -> str:
        return self.quote(self.target.name)

    @property
    def cols(self) -> list[str]:
        return [self.quote(n) for n in self.names]

    def latest(self) -> str:
        """The stage's rows with the last record of each natural key (SQL text)."""
        if self.dialect == "postgresql":
            # Sorted by bytes: equality is the same under any deterministic collation, and a byte
            # sort is about 1.6x faster than one through the locale (PostgreSQL 15). Numbered
            # (rn) in that order, which new ids follow: both the key index and the primary key
            # then fill at their right edge, whatever order the file came in.
            return (
                f'SELECT *, row_number() OVER () AS rn FROM (SELECT DISTINCT ON (natural_key COLLATE "C") *'
                f' FROM {self.stage.name} ORDER BY natural_key COLLATE "C", ord DESC) AS by_key'
            )
        return (
            f"SELECT * FROM {self.stage.name} WHERE ord IN "
            f"(SELECT max(ord) FROM {self.stage.name} GROUP BY natural_key)"
        )

    def _insert_columns(self) -> str:
        return ", ".join(
            ["id", "agency", "natural_key", *self.cols, "upload_id", "template", "created_at", "updated_at"]
        )

    def _new_values(self) -> list[str]:
        return [
            new_id_sql(self.dialect, "src.rn" if self.dialect == "postgresql" else "src.ord"),
            ":agency",
            "src.natural_key",
            *(f"src.{c}" for c in self.cols),
            ":upload",
            ":template",
            ":now",
            ":now",
        ]

    def any_of_agency(self) -> TextClause:
        """Whether the agency has any record of the entity (one probe of the key index)."""
        return sql_text(f"SELECT EXISTS (SELECT 1 FROM {self.t} WHERE agency = :agency)")

    def insert_new(self, returning: bool = False) -> TextClause:
        """Every latest record as a new one (PostgreSQL; the agency has none yet): no join."""
        sql = (
            f"INSERT INTO {self.t} ({self._insert_columns()}) "
            f"SELECT {', '.join(self._new_values())} FROM ({self.latest()}) AS src"
        )
        return sql_text(sql + " RETURNING id" if returning else sql)

    def _pg_differs(self) -> str:
        if not self.cols:
            return "false"
        left = ", ".join(f"{self.t}.{c}" for c in self.cols)
        right = ", ".join(f"src.{c}" for c in self.cols)
        return f"ROW({left}) IS DISTINCT FROM ROW({right})"

    def _pg_on(self) -> str:
        return f"{self.t}.agency = :agency AND {self.t}.natural_key = src.natural_key"

    def merge(self) -> TextClause:
        """One MERGE (PostgreSQL 15+): the planner joins the stage to the table as it sees fit (a
        hash join for a big file, index lookups for a small one), then plain inserts and updates;
        measured about twice as fast as INSERT ... ON CONFLICT, which probes the index row by row."""
        t = self.t
        sets = ", ".join(
            [*(f"{c} = src.{c}" for c in self.cols), "upload_id = :upload", "template = :template"]
        )
        touch = (
            f" WHEN MATCHED AND {t}.upload_id IS DISTINCT FROM :upload THEN UPDATE SET upload_id = :upload,"
            " template = :template"
            if self.touch_unchanged
            else ""
        )
        return sql_text(
            f"MERGE INTO {t} USING ({self.latest()}) AS src ON {self._pg_on()}"
            f" WHEN MATCHED AND {self._pg_differs()} THEN UPDATE SET {sets}, updated_at = :now{touch}"
            f" WHEN NOT MATCHED THEN INSERT ({self._insert_columns()}) VALUES ({', '.join(self._new_values())})"
        )

    def count_before(self) -> TextClause:
        """(created, updated) the MERGE will make, over the same join (PostgreSQL)."""
        t = self.t
        return sql_text(
            f"SELECT count(*) FILTER (WHERE {t}.id IS NULL), count(*) FILTER (WHERE {t}.id IS NOT NULL"
            f" AND {self._pg_differs()}) FROM ({self.latest()}) AS src LEFT JOIN {t} ON {self._pg_on()}"
        )

    def count_after(self) -> TextClause:
        """(created, updated) by this upload, over the rows that carry its id (PostgreSQL): created
        ones have created_at = this upload's timestamp, updated ones only updated_at."""
        return sql_text(
            f"SELECT count(*) FILTER (WHERE created_at = :now), count(*) FILTER (WHERE"
            f" created_at <> :now AND updated_at = :now) FROM {self.t}"
            f" WHERE agency = :agency AND upload_id = :upload"
        )

    # --- SQLite -----------------------------------------------------------------------------
    def _sqlite_differs(self) -> str:
        return " OR ".join(f"{self.t}.{c} IS NOT src.{c}" for c in self.cols) or "0"

    def sqlite_count_before(self) -> TextClause:
        """(updated, touched) the upsert will make: SQLite has no xmax to tell them apart after."""
        t, differs = self.t, self._sqlite_differs()
        return sql_text(
            f"SELECT coalesce(sum({differs}), 0), coalesce(sum(NOT ({differs}) AND {t}.upload_id IS NOT :upload), 0)"
            f" FROM ({self.latest()}) AS src JOIN {t} ON {t}.agency = :agency"
            f" AND {t}.natural_key = src.natural_key"
        )

    def sqlite_upsert(self) -> TextClause:
        t, cols = self.t, self.cols
        if cols:
            differs = (
                f"({', '.join(f'{t}.{c}' for c in cols)}) IS NOT ({', '.join(f'excluded.{c}' for c in cols)})"
            )
            if len(cols) == 1:
                differs = f"{t}.{cols[0]} IS NOT excluded.{cols[0]}"
        else:
            differs = "false"
        sets = [f"{c} = CASE WHEN {differs} THEN excluded.{c} ELSE {t}.{c} END" for c in cols]
        sets.append(f"updated_at = CASE WHEN {differs} THEN excluded.updated_at ELSE {t}.updated_at END")
        sets += ["upload_id = excluded.upload_id", "template = excluded.template"]
        where = differs
        if self.touch_unchanged:
            where = f"{differs} OR {t}.upload_id IS NOT excluded.upload_id"
        return sql_text(
            f"INSERT INTO {t} ({self._insert_columns()}) SELECT {', '.join(self._new_values())}"
            f" FROM ({self.latest()}) AS src WHERE true"
            f" ON CONFLICT (agency, natural_key) DO UPDATE SET {', '.join(sets)} WHERE {where}"
        )
