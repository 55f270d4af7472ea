"""GB 11643-1999 ID numbers and the normalisation both truth and production use."""
from __future__ import annotations

from datetime import date

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_C = "10X98765432"
_FW = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "X", "\u3000": " "})


def check_digit(body17: str) -> str:
    return _C[sum(int(c) * w for c, w in zip(body17, _W)) % 11]


def make_id(region6: str, birth: date, seq3: int) -> str:
    body = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    return body + check_digit(body)


def normalise(raw: str | None) -> str | None:
    """trim, full-width -> half-width, x -> X; a 20-char disability number -> its first 18."""
    if raw is None:
        return None
    s = str(raw).translate(_FW).strip().upper()
    if len(s) == 20:
        s = s[:18]
    return s or None


def id_valid(s: str | None) -> bool:
    """ID-01 check on a normalised number: length 18, 17 digits + [0-9X], real birth date, check digit."""
    if not s or len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789X":
        return False
    try:
        date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return check_digit(s[:17]) == s[17]


def id_birth(s: str) -> date:
    return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def id_gender(s: str) -> str:
    return "男" if int(s[16]) % 2 == 1 else "女"
