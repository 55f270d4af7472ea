"""Header text that cannot break a message: region and person names come from data and the
routing file, and one line break in a Subject makes the e-mail library refuse the message
(or, with a looser library, lets a name inject a header)."""
from __future__ import annotations

import re
import unicodedata

# Cc (C0/C1 controls incl. CR, LF, TAB, NUL), lone surrogates (Cs, from broken decoding: not
# encodable), plus the Unicode line / paragraph separators.
_BREAKING = {"\u2028", "\u2029", "\u0085"}
_SPACES = re.compile(r"\s+")
# One address as a supervisor's mail server accepts it: no spaces, quotes, angle brackets or
# controls; a local part and a dotted domain.
_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class BadAddress(ValueError):
    pass


def header_text(value, limit: int = 200) -> str:
    """One line of text: every control or line-separator character becomes a space, runs of
    whitespace collapse, and it is cut to `limit` characters (a Subject stays readable)."""
    text = "" if value is None else str(value)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") or ch in _BREAKING else ch for ch in text)
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def checked_address(value) -> str:
    """The address itself is never repaired: a wrong one fails that recipient, visibly."""
    addr = "" if value is None else str(value).strip()
    if not _ADDRESS.match(addr) or any(unicodedata.category(ch) == "Cc" for ch in addr):
        raise BadAddress(f"收件人邮箱地址无效：{header_text(addr, 80)!r}")
    return addr
