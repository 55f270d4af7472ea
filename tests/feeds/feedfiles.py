"""Helpers for feed tests: write messy landing files, read back batches, rows and rejects."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

RUN_DATE = dt.date(2026, 11, 28)


def write_csv(landing: Path, folder: str, day: str, lines: list[str], *,
              encoding: str = "utf-8", newline_at_end: bool = True, eol: str = "\r\n") -> Path:
    """Lines are written as given (raw text), so tests control quoting and junk exactly."""
    path = landing / folder / f"{folder}_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = eol.join(lines) + (eol if newline_at_end else "")
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(landing: Path, folder: str, day: str, rows: list[list], *,
               number_formats: dict | None = None, sheets_before: int = 0) -> Path:
    import openpyxl

    path = landing / folder / f"{folder}_{day}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(sheets_before):      # a cover sheet before the data
        ws.title = f"说明{i}"
        ws.append(["本表由系统导出"])
        ws = wb.create_sheet("数据")
    for row in rows:
        ws.append(row)
    for cell_ref, fmt in (number_formats or {}).items():
        ws[cell_ref].number_format = fmt
    wb.save(path)
    return path


def batches(conn, folder: str) -> list[dict]:
    cur = conn.execute(
        "select batch_id, origin, file_date, status, rows_in, rows_loaded, rows_rejected, message "
        "from raw.load_batch where source = %s order by batch_id", (folder,))
    names = [d.name for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def rows(conn, folder: str, columns: str = "*", where: str = "true") -> list[dict]:
    cur = conn.execute(f"select {columns} from raw.feed_{folder} where {where} order by file_date, line_no")
    names = [d.name for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def rejects(conn, batch_id: int) -> list[tuple]:
    return conn.execute(
        "select line_no, payload, reason from raw.rejected_row where batch_id = %s order by line_no",
        (batch_id,)).fetchall()


def field_warnings(conn, batch_id: int) -> list[tuple]:
    return conn.execute(
        "select line_no, column_name, original, reason from raw.field_warning "
        "where batch_id = %s order by line_no, column_name", (batch_id,)).fetchall()


def assert_balanced(conn) -> None:
    """rows_in = loaded + rejected for every non-failed batch, and the counts match the tables."""
    for b in conn.execute(
            "select batch_id, source, status, rows_in, rows_loaded, rows_rejected from raw.load_batch"
            " where status in ('succeeded', 'superseded')").fetchall():
        batch_id, source, status, rows_in, loaded, rejected = b
        assert rows_in == loaded + rejected, b
        warned = conn.execute("select fields_warned from raw.load_batch where batch_id = %s",
                              (batch_id,)).fetchone()[0]
        n_warn = conn.execute("select count(*) from raw.field_warning where batch_id = %s",
                              (batch_id,)).fetchone()[0]
        assert n_warn == warned, b
        n_rej = conn.execute("select count(*) from raw.rejected_row where batch_id = %s",
                             (batch_id,)).fetchone()[0]
        assert n_rej == rejected, b
        if status == "succeeded":
            n = conn.execute(f"select count(*) from raw.feed_{source} where load_batch_id = %s",
                             (batch_id,)).fetchone()[0]
            assert n == loaded, b
