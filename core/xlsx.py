"""Workbook bytes that depend only on the content and a date (send-once keys, reruns)."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile


def workbook_bytes(wb, day: dt.date) -> bytes:
    """An openpyxl workbook saved as if on `day` (midnight): openpyxl stamps the document's
    modified time and every zip entry with now(); both are pinned here, so the same workbook
    gives the same bytes."""
    stamp = dt.datetime(day.year, day.month, day.day)
    wb.properties.created = wb.properties.modified = stamp
    buf = io.BytesIO()
    wb.save(buf)
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + when + rb"\g<2>", body)
            dst.writestr(fixed, body)
    return out.getvalue()
