"""Last line of defence: nothing that looks like an ID number or a phone number leaves unmasked.

ID numbers (18 characters, or a 20-digit disability-certificate number whose first 18 are the
ID number) become `341225********1234`; mobile numbers (also written 138-1234-5678 or
138 1234 5678) become `138****5678`. Full-width digits are read as digits first.
"""
from __future__ import annotations

import re

_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "x"})
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(\d{2})?(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask_text(text: str | None) -> str:
    if text is None or text == "":
        return ""
    text = str(text)
    if any("\uff10" <= ch <= "\uff19" for ch in text):
        text = text.translate(_FULLWIDTH)
    text = _ID.sub(r"\1********\2", text)
    return _PHONE.sub(r"\1****\2", text)
