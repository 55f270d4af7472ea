"""Assemble one digest e-mail: plain text + HTML with the inline town chart + the full CSV."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from expectations.alerts import chart, render
from expectations.alerts.collect import DigestData, collect  # noqa: F401  (re-exported)
from expectations.alerts.routing import Recipient


def csv_filename(d: DigestData) -> str:
    return f"防返贫监测问题清单_{d.run_date:%Y%m%d}.csv"


def build_message(d: DigestData, sender: Recipient) -> EmailMessage:
    r = d.audience.recipient
    msg = EmailMessage()
    msg["Subject"] = render.subject(d)
    msg["From"] = formataddr((sender.name, sender.email))
    msg["To"] = formataddr((r.name, r.email))
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.email.split("@")[-1])
    msg["X-FPR-Run-Date"] = d.run_date.isoformat()
    msg["X-FPR-Open"] = str(len(d.open))
    msg["X-FPR-New"] = str(len(d.new))
    msg["X-FPR-Resolved"] = str(len(d.resolved))
    msg.set_content(render.render_text(d))
    png = chart.town_chart(d.by_town()) if d.open else None
    msg.add_alternative(render.render_html(d, chart_cid=render.CHART_CID if png else None), subtype="html")
    if png:
        msg.get_payload()[1].add_related(png, maintype="image", subtype="png",
                                         cid=f"<{render.CHART_CID}>", filename="town_chart.png")
    msg.add_attachment(render.render_csv(d), maintype="text", subtype="csv", filename=csv_filename(d))
    return msg
