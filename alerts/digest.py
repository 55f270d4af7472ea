"""Assemble one digest e-mail: plain text + HTML with the inline town chart + the full CSV."""
from __future__ import annotations

import dataclasses
import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from alerts import chart, render
from alerts.collect import DigestData
from alerts.delivery import CONTENT_HASH_HEADER
from alerts.headers import checked_address, header_text
from alerts.routing import Recipient


def csv_filename(d: DigestData) -> str:
    return f"防返贫监测问题清单_{d.run_date:%Y%m%d}.csv"


def content_key(d: DigestData, to: str, subject: str) -> str:
    """The send-once key: what the supervisor reads, without anything that depends on the host
    that built it (the Data Docs link, the chart's PNG bytes, Message-ID, Date)."""
    h = hashlib.sha256(f"{to.lower()}\n{subject}\n".encode())
    h.update(render.render_text(dataclasses.replace(d, docs_url=None)).encode())
    h.update(render.render_csv(d))
    return h.hexdigest()


def build_message(d: DigestData, sender: Recipient) -> EmailMessage:
    """Raises headers.BadAddress for an unusable recipient or sender address; names and the
    subject are made single-line, so data can never break or inject a header."""
    r = d.audience.recipient
    to_addr, from_addr = checked_address(r.email), checked_address(sender.email)
    subject = header_text(render.subject(d), limit=250)
    msg = EmailMessage()
    msg["Subject"] = subject
    # Address objects, not formataddr strings: the policy quotes any name correctly (a name
    # with "(" or "," in a formataddr string re-parses as a different or empty address)
    msg["From"] = Address(display_name=header_text(sender.name, 80), addr_spec=from_addr)
    msg["To"] = Address(display_name=header_text(r.name, 80), addr_spec=to_addr)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=from_addr.split("@")[-1])
    msg["X-FPR-Run-Date"] = d.run_date.isoformat()
    msg["X-FPR-Open"] = str(len(d.open))
    msg["X-FPR-New"] = str(len(d.new))
    msg["X-FPR-Resolved"] = str(len(d.resolved))
    msg[CONTENT_HASH_HEADER] = content_key(d, to_addr, subject)
    msg.set_content(render.render_text(d))
    png = chart.town_chart(d.by_town()) if d.open else None
    msg.add_alternative(render.render_html(d, chart_cid=render.CHART_CID if png else None), subtype="html")
    if png:
        msg.get_payload()[1].add_related(png, maintype="image", subtype="png",
                                         cid=f"<{render.CHART_CID}>", filename="town_chart.png")
    msg.add_attachment(render.render_csv(d), maintype="text", subtype="csv", filename=csv_filename(d))
    return msg
