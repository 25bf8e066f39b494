"""Checks on text input: names and references without invisible characters; dates written as dates.

A reference, a name or a file name is compared, searched and shown to people who must see what it
says. Bidirectional controls (U+202E makes "fdp.exe" read "exe.pdf") and zero-width characters
(U+200B makes two equal-looking references differ) defeat that, so such text refuses them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# Soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width space/non-joiner/joiner,
# left-to-right and right-to-left marks, the embeddings and overrides U+202A-U+202E, word joiner
# and invisible operators U+2060-U+2064, the isolates U+2066-U+2069, and the byte order mark.
INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
INVISIBLE_ERROR = "text_invisible"


def invisible_character(text: str) -> str | None:
    """The first invisible or bidirectional control character in the text, as U+XXXX, or None."""
    m = _INVISIBLE_RE.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def _visible(text: str) -> str:
    found = invisible_character(text)
    if found is not None:
        raise PydanticCustomError(
            INVISIBLE_ERROR,
            "holds an invisible or direction-changing character ({char}); remove it",
            {"char": found},
        )
    return text


# A str field that refuses those characters (pydantic error type `text_invisible`).
Visible = AfterValidator(_visible)
VisibleStr = Annotated[str, Visible]


# A date is written YYYY-MM-DD (a date-time starts so): pydantic would also take a number of
# seconds since 1970 (`?on=0` was 1 January 1970) and, for a date, any time at midnight.
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_ERROR = "date_iso"


def _iso(value: Any, *, exact: bool) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (_ISO_DATE_RE.fullmatch(value) if exact else _ISO_DATE_RE.match(value)):
        return value
    shape = "YYYY-MM-DD" if exact else "YYYY-MM-DDThh:mm:ss with a zone (ISO 8601)"
    raise PydanticCustomError(DATE_ERROR, "must be written {shape}", {"shape": shape})


IsoDate = Annotated[date, BeforeValidator(lambda v: _iso(v, exact=True))]
IsoDateTime = Annotated[datetime, BeforeValidator(lambda v: _iso(v, exact=False))]
