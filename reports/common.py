"""What every periodic report shares: the warehouse query helpers, region names, masking of
every value a reader sees, XLSX writing and delivery through alerts.delivery."""
from __future__ import annotations

import datetime as dt
import html
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from alerts.masking import mask_text
from core.warehouse import dict_rows
from core.xlsx import workbook_bytes

FAMILIES = ("PAPER", "GRID", "MISS", "EXIT", "CONS", "ID", "FUND", "SALE", "FRESH")


def rows(conn, sql: str, params=()) -> list[dict]:
    return dict_rows(conn.execute(sql, params))


def m(v) -> str:
    """A value as the reader sees it: masked text (None -> empty)."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return mask_text(str(v))


def e(v) -> str:
    """Masked and HTML-escaped."""
    return html.escape(m(v))


def html_table(headers: list[str], body: list[list]) -> str:
    head = "".join(f"<th style='border:1px solid #ccc;padding:4px 8px;background:#f3f3f3'>{e(h)}</th>" for h in headers)
    lines = "".join("<tr>" + "".join(f"<td style='border:1px solid #ccc;padding:4px 8px'>{e(c)}</td>" for c in r) + "</tr>"
                    for r in body)
    if not body:
        lines = f"<tr><td colspan='{len(headers)}' style='padding:4px 8px;color:#666'>（无）</td></tr>"
    return f"<table style='border-collapse:collapse;font-size:13px;margin:6px 0 14px'><tr>{head}</tr>{lines}</table>"


def xlsx_bytes(sheets: list[tuple[str, list[str], list[list]]], stamp: dt.date) -> bytes:
    """sheets: (name, headers, rows). Every text cell masked; numbers stay numbers. Stamped
    with the report date, so the same report gives the same bytes (and is not sent twice)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, headers, body in sheets:
        ws = wb.create_sheet(name[:31])
        ws.append(headers)
        for c in ws[1]:
            c.font = Font(bold=True)
        for r in body:
            ws.append([v if isinstance(v, (int, float)) and not isinstance(v, bool) else
                       (v if isinstance(v, (dt.date,)) else m(v)) for v in r])
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, 2 * len(str(h)) + 2))
    return workbook_bytes(wb, stamp)


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def build_message(*, sender, to: list, subject: str, text: str, html_body: str,
                  images: dict[str, bytes] | None = None, attachments: list[tuple[str, bytes]] = ()) -> EmailMessage:
    """Multipart message: plain text, HTML with inline PNGs (cid:<name>), XLSX attachments."""
    msg = EmailMessage()
    msg["From"] = formataddr((sender.name, sender.email))
    msg["To"] = ", ".join(formataddr((r.name, r.email)) for r in to)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.email.split("@")[-1])
    msg.set_content(mask_text(text))
    msg.add_alternative(html_body, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, png in (images or {}).items():
        html_part.add_related(png, "image", "png", cid=f"<{cid}>")
    for filename, blob in attachments:
        msg.add_attachment(blob, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename)
    return msg


def deliver(conn, msg: EmailMessage, *, key: str, run_date: dt.date, name: str, settings) -> str:
    """The alerts' delivery: .eml in Settings.outbox_dir, SMTP when smtp_conn_id is set, never twice."""
    from alerts import delivery

    return delivery.deliver(conn, msg, key=key, run_date=run_date, outbox=Path(settings.outbox_dir), name=name,
                            settings=settings)


def recipients_for(route, region_code: str):
    """The routing file's recipients for a county or town code; the fallback when none."""
    found = route.regions.get(region_code)
    return (list(found), False) if found else ([route.fallback], True)
