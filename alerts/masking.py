"""Last line of defence: nothing that looks like an ID number or a phone number leaves unmasked.

What real text carries, and what becomes of it:
- 18-character ID numbers, also written in groups (`341225 19800101 1234`, `3412 2519 8001 0112 34`)
  or glued to a prefix (`sfz341225198001011234`): `341225********1234`;
- 20-digit disability-certificate numbers (the ID number + category + grade): the same 18
  characters masked, the two health digits dropped;
- 15-digit old-style ID numbers (YYMMDD birth date): `341225******123`;
- mobile numbers, also `138-1234-5678`, `+86 138 1234 5678`, `0086…`, `8613812345678`:
  `138****5678`.
Full-width digits, letters, spaces, plus and hyphen are read as half-width (the masked number
is written half-width; the text around it is left as it was).

A number is only taken for an ID when its birth-date digits are a plausible date (year
18xx-20xx, month 01-12, day 01-31): that keeps dates, amounts and 12-digit region codes (also
a region code beside a date, as digests print them) as they are.
"""
from __future__ import annotations

import re

_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
                            **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
                            "\u3000": " ", "＋": "+", "－": "-", "（": "(", "）": ")"})
_NEEDS_FOLDING = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000＋－（）]")

D = r"\d"
_SEP = r"[ \-]?"     # one optional space or hyphen
# Where people break the numbers: 6-8-4, 6-4-4-4 and 4-4-4-4-2 for IDs, 3-4-4 for phones.
# Nowhere else: a separator anywhere would read a region code beside a date as an ID number.
_ID18_BREAKS = {4, 6, 8, 10, 12, 14, 16}
_ID15_BREAKS = {4, 6, 8, 10, 12}
_PHONE_BREAKS = {3, 7}


def _seq(tokens: list[str], breaks: set[int], start: int = 0) -> str:
    """Digit-class tokens in order, an optional separator after the positions in breaks."""
    out = ""
    for i, tok in enumerate(tokens, start=start + 1):
        out += tok + (_SEP if i in breaks and i < start + len(tokens) else "")
    return out


def _date_tokens(year_digits: int) -> list[list[str]]:
    """Alternatives for YYYYMMDD / YYMMDD as digit-class token lists (plausible dates only)."""
    years = [["1", "[89]", D, D], ["2", "0", D, D]] if year_digits == 4 else [[D, D]]
    months = [["0", "[1-9]"], ["1", "[0-2]"]]
    days = [["0", "[1-9]"], ["[12]", D], ["3", "[01]"]]
    return [y + m + d for y in years for m in months for d in days]


def _id_pattern(year_digits: int, breaks: set[int]) -> str:
    region = _seq([D] * 6, breaks)
    n_date = year_digits + 4
    dates = "|".join(_seq(t, breaks, start=6) for t in _date_tokens(year_digits))
    sep6, sep_date = (_SEP if 6 in breaks else ""), (_SEP if 6 + n_date in breaks else "")
    tail = [D, D, D] + (["[0-9Xx]"] if year_digits == 4 else [])
    return (f"(?<!\\d)(?<!\\d-)(?P<region>{region}){sep6}(?:{dates}){sep_date}"
            f"(?P<tail>{_seq(tail, breaks, start=6 + n_date)})")


# an 18-character ID may carry the two disability digits (20-digit certificate number)
_ID18 = re.compile(_id_pattern(4, _ID18_BREAKS) + r"(?:\d\d)?(?![0-9Xx])(?!-\d)")
_ID15 = re.compile(_id_pattern(2, _ID15_BREAKS) + r"(?![0-9Xx])(?!-\d)")
_PHONE = re.compile(
    r"(?:(?:(?<![\d+])(?:\+|00)?[ \-]?86|\(\+?86\))[ \-]?|(?<!\d))"
    f"(?P<head>{_seq(['1', '[3-9]', D], _PHONE_BREAKS)}){_SEP}"
    f"{_seq([D] * 4, _PHONE_BREAKS, start=3)}{_SEP}(?P<tail>{_seq([D] * 4, _PHONE_BREAKS, start=7)})(?!\\d)")


def _digits(s: str) -> str:
    return re.sub(r"[ \-]", "", s)


def _mask_id18(m: re.Match) -> str:
    return _digits(m["region"]) + "*" * 8 + _digits(m["tail"]).upper()


def _mask_id15(m: re.Match) -> str:
    return _digits(m["region"]) + "*" * 6 + _digits(m["tail"])


def _mask_phone(m: re.Match) -> str:
    return _digits(m["head"]) + "****" + _digits(m["tail"])


def _sub(pattern: re.Pattern, fn, text: str, folded: str) -> tuple[str, str]:
    """Replace pattern's matches in the folded text, and the same spans of the original (folding
    is one character for one, so spans line up): text around a number keeps its own characters."""
    out, out_folded, pos = [], [], 0
    for m in pattern.finditer(folded):
        masked = fn(m)
        out += [text[pos:m.start()], masked]
        out_folded += [folded[pos:m.start()], masked]
        pos = m.end()
    if not pos:
        return text, folded
    out.append(text[pos:])
    out_folded.append(folded[pos:])
    return "".join(out), "".join(out_folded)


def mask_text(text: str | None) -> str:
    if text is None or text == "":
        return ""
    text = str(text)
    folded = text.translate(_FULLWIDTH) if _NEEDS_FOLDING.search(text) else text
    # phones before 15-digit IDs: `0086 13000501000` is 15 digits whose middle reads as a date;
    # no province code starts with 86 or 00, so a country prefix means a phone
    for pattern, fn in ((_ID18, _mask_id18), (_PHONE, _mask_phone), (_ID15, _mask_id15)):
        text, folded = _sub(pattern, fn, text, folded)
    return text
