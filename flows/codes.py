"""Short codes people read aloud and type: card codes, coupon codes, referral codes, invite tokens.

The alphabet leaves out characters that look or sound alike (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V), so a code
read from a phone screen or a printed coupon is typed right the first time.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
_NOT_CODE = re.compile(r"[\s\-_.]")


def new_code(length: int) -> str:
    """A random code of `length` characters from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize(text: str) -> str:
    """What a person typed → the stored form: upper case, without spaces, dashes or dots."""
    return _NOT_CODE.sub("", text).upper()


def looks_like(text: str, length: int) -> bool:
    """True when `text` (normalized) could be a code of this length."""
    code = normalize(text)
    return len(code) == length and all(ch in ALPHABET for ch in code)


def grouped(code: str, size: int = 4) -> str:
    """`ABCDEFGH` → `ABCD-EFGH`: easier to read out; the dash is optional when typing."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))
