"""SQL that validates a landing file line by line against the contract.

Every physical line ends up in exactly one place: loaded, quarantined (with a reason
and a readable detail) or counted as a duplicate. The SQL is generated from the field
definitions in `redcat.contract`, so all tables follow the same rules.

Speed matters here (5 M lines a day, behind a single-threaded gzip reader), so every
line pays for one cheap pass: each value is cast once, and the reason is an ordered
CASE whose arms may rely on the earlier arms being false. The readable detail is
computed afterwards for the few bad lines only.

Values are taken as delivered (no trimming): an empty string counts as missing.
"""

from __future__ import annotations

from pathlib import Path

from redcat import contract
from redcat.contract import Field, SourceTable
from redcat.duck import sql_literal as q
from redcat.ingest.lines import MAX_LINE_BYTES
from redcat.ingest.rules import Rules

# JSON types a string field may have (json_type): a string, or null/absent (then it counts as missing).
STRING_JSON_TYPES = ("VARCHAR", "NULL")
HEX_KEY_LENGTH = 64


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def line_reader(path: Path, rejects: str) -> str:
    """Every physical line of a (gzipped) text file with its ordinal, through DuckDB's CSV
    reader in one-column mode. Lines that are not valid UTF-8 go to the `rejects` table."""
    return (
        f"read_csv({q(str(path))}, columns={{'line': 'VARCHAR'}}, delim='\\0', quote='', escape='', "
        f"header=false, auto_detect=false, strict_mode=false, max_line_size={MAX_LINE_BYTES}, "
        f"store_rejects=true, rejects_table={q(rejects)}, rejects_scan={q(rejects + '_scan')}) WITH ORDINALITY"
    )


def _typed(f: Field) -> str | None:
    """The cast of a field's text, NULL when it does not parse."""
    col = ident(f.name)
    if f.kind == "timestamp":
        # ISO-8601 with an offset: 'T' separator and Z, +hh:mm or +hhmm at the end. Without an
        # offset DuckDB would silently assume the session zone.
        offset = f"({col}[-1] = 'Z' OR {col}[-6] IN ('+', '-') OR {col}[-5] IN ('+', '-'))"
        return f"CASE WHEN {col}[11] = 'T' AND {offset} THEN try_cast({col} AS TIMESTAMPTZ) END"
    if f.kind == "date":
        return f"CASE WHEN length({col}) = 10 AND {col}[5] = '-' THEN try_cast({col} AS DATE) END"
    if f.kind == "amount":
        return f"try_cast({col} AS DECIMAL(18, 2))"
    return None


def _t(f: Field) -> str:
    return ident(f"_t_{f.name}")


def _missing(col: str) -> str:
    return f"({col} IS NULL OR {col} = '')"


def _arms(table: SourceTable, rules: Rules | None, json: bool = False) -> list[tuple[str, str, str]]:
    """(condition, reason, detail SQL) in precedence order. Each condition may assume that
    every earlier one was false (a CASE evaluates them in order). `json`: the relation has `jt`,
    the JSON type of every field (a string field must hold a JSON string)."""
    arms: list[tuple[str, str, str]] = []
    for f in table.fields:  # 1. missing keys
        col = ident(f.name)
        if f.required and f.required_when is None:
            arms.append((_missing(col), contract.MISSING_KEY, q(f"missing required field {f.name}")))
        elif f.required_when is not None:
            other, values = f.required_when
            cond = f"({ident(other)} IN ({', '.join(map(q, values))}) AND {_missing(col)})"
            arms.append(
                (cond, contract.MISSING_KEY, q(f"missing field {f.name}, required when {other} is {'/'.join(values)}"))
            )
    if json:  # 1b. a JSON object, array, number or boolean where the contract says string
        allowed = ", ".join(map(q, STRING_JSON_TYPES))
        for i, f in enumerate(table.fields):
            if f.kind in ("string", "enum"):
                arms.append(
                    (
                        f"(jt[{i + 1}] NOT IN ({allowed}))",
                        contract.INVALID_VALUE,
                        f"'{f.name} is a JSON ' || lower(jt[{i + 1}]) || ' (' || {ident(f.name)} || '), expected a string'",
                    )
                )
    for f in table.fields:  # 2. enums (an absent optional value is fine)
        if f.kind == "enum":
            col = ident(f.name)
            allowed = ", ".join(map(q, f.enum))
            arms.append(
                (
                    f"({col} <> '' AND {col} NOT IN ({allowed}))",
                    contract.UNKNOWN_ENUM,
                    f"'{f.name} ' || {col} || ' is not one of {', '.join(f.enum)}'",
                )
            )
    for f in table.fields:  # 3. times and dates
        col = ident(f.name)
        if f.kind in ("timestamp", "date"):
            what = "an ISO-8601 time with an offset" if f.kind == "timestamp" else "a date YYYY-MM-DD"
            arms.append(
                (
                    f"({col} <> '' AND {_t(f)} IS NULL)",
                    contract.UNPARSABLE_TIME,
                    f"'{f.name} ' || {col} || ' is not {what}'",
                )
            )
    for f in table.fields:  # 4. amounts
        if f.kind == "amount":
            col, t = ident(f.name), _t(f)
            arms.append(
                (
                    f"({col} <> '' AND {t} IS NULL)",
                    contract.INVALID_VALUE,
                    f"'{f.name} ' || {col} || ' is not a number'",
                )
            )
            arms.append((f"({t} < 0)", contract.NEGATIVE_AMOUNT, f"'{f.name} ' || {col} || ' is negative'"))
            if table.table == "callbacks":  # contract: gmv_cny is a positive amount
                arms.append(
                    (
                        f"({t} = 0)",
                        contract.INVALID_VALUE,
                        f"'{f.name} is 0; a purchase or refund amount must be positive'",
                    )
                )
    if any(f.name == "user_key" for f in table.fields):  # 5. formats
        arms.append(
            (
                f"(length(user_key) <> {HEX_KEY_LENGTH} OR try(unhex(user_key)) IS NULL)",
                contract.INVALID_VALUE,
                f"'user_key is not {HEX_KEY_LENGTH} hexadecimal characters'",
            )
        )
    if rules is not None:  # 6. plausibility: dates against the delivery, programmes, amounts (rules.py)
        arms += rules.arms(table, _t)
    return arms


def _with_typed(table: SourceTable, relation: str) -> str:
    """`relation` plus one typed column per time/date/amount field (cast exactly once)."""
    typed = [f"{expr} AS {_t(f)}" for f in table.fields if (expr := _typed(f))]
    return f"(SELECT *{', ' if typed else ''}{', '.join(typed)} FROM {relation})"


def reason_sql(table: SourceTable, structure_ok: str, rules: Rules | None, json: bool = False) -> str:
    return (
        f"CASE WHEN NOT {structure_ok} THEN {q(contract.MALFORMED_LINE)} "
        + " ".join(f"WHEN {c} THEN {q(r)}" for c, r, _ in _arms(table, rules, json))
        + " END"
    )


def detail_sql(
    table: SourceTable, structure_ok: str, structure_detail: str, rules: Rules | None, json: bool = False
) -> str:
    return (
        f"CASE WHEN NOT {structure_ok} THEN {structure_detail} "
        + " ".join(f"WHEN {c} THEN {d}" for c, _, d in _arms(table, rules, json))
        + " END"
    )


def output_columns(table: SourceTable) -> list[str]:
    """The raw layer's typed columns."""
    out = []
    for f in table.fields:
        if _typed(f):
            out.append(f"{_t(f)} AS {ident(f.name)}")
        elif f.name == "user_key":
            out.append("lower(user_key) AS user_key")  # one canonical spelling, so both sides join
        else:
            out.append(f"nullif({ident(f.name)}, '') AS {ident(f.name)}")
    return out


def _paths(table: SourceTable) -> str:
    return ", ".join(q(f"$.{f.name}") for f in table.fields)


def _json_fields(table: SourceTable, text: str) -> str:
    return f"try(json_extract_string({text}, [{_paths(table)}])) AS v, try(json_type({text}, [{_paths(table)}])) AS jt"


def _unpack(table: SourceTable) -> str:
    return ", ".join(f"v[{i + 1}] AS {ident(f.name)}" for i, f in enumerate(table.fields))


# A JSON line is an object iff it parses and starts with '{' (json_extract_string returns a
# list of NULLs, not NULL, for arrays and scalars).
JSON_OK = "(v IS NOT NULL AND (text[1] = '{' OR ltrim(text)[1] = '{'))"
JSON_DETAIL = "CASE WHEN text IS NULL OR trim(text) = '' THEN 'blank line' ELSE 'not a JSON object' END"


def reader_lines(path: Path, rejects: str) -> str:
    """(k, text) of every line DuckDB's line reader can read; the others go to `rejects`."""
    return f"(SELECT ordinality AS k, line AS text FROM {line_reader(path, rejects)})"


def jsonl_parse_sql(table: SourceTable, lines: str, rules: Rules | None) -> str:
    """One streaming pass over the (k, text) lines of a JSONL file: parse once, classify, type.
    `detail` is left NULL; `jsonl_detail_sql` fills it in for the bad lines."""
    src = f"(SELECT k, text, {_json_fields(table, 'text')} FROM {lines})"
    fields = f"(SELECT k, text, jt, {JSON_OK} AS ok, {_unpack(table)} FROM {src})"
    return f"""
        SELECT k AS line_number, CASE WHEN reason IS NOT NULL THEN text END AS raw_text, reason,
               NULL::VARCHAR AS detail, {", ".join(output_columns(table))}
        FROM (SELECT *, {reason_sql(table, "ok", rules, json=True)} AS reason FROM {_with_typed(table, fields)})
    """


def jsonl_detail_sql(table: SourceTable, rules: Rules | None) -> str:
    """(line_number, detail) for the quarantined lines of `parsed`, re-read from their text."""
    fields = (
        f"(SELECT line_number, raw_text AS text, jt, {JSON_OK} AS ok, {_unpack(table)} FROM "
        f"(SELECT line_number, raw_text, {_json_fields(table, 'raw_text')} FROM parsed WHERE reason IS NOT NULL))"
    )
    return (
        f"SELECT line_number, {detail_sql(table, 'ok', JSON_DETAIL, rules, json=True)} AS detail "
        f"FROM {_with_typed(table, fields)}"
    )


def csv_parse_sql(table: SourceTable, rows_relation: str, rules: Rules | None) -> str:
    """Classify and type rows already split into VARCHAR columns (line_number, text, ok, detail0, reason0,
    fields; reason0 overrides, for lines that are not text). CSV files are small, so the detail is computed inline."""
    typed = _with_typed(table, rows_relation)
    return f"""
        SELECT line_number, CASE WHEN reason IS NOT NULL THEN text END AS raw_text, reason, detail,
               {", ".join(output_columns(table))}
        FROM (SELECT *, coalesce(reason0, {reason_sql(table, "ok", rules)}) AS reason,
                     {detail_sql(table, "ok", "detail0", rules)} AS detail FROM {typed})
    """
