"""Text from documents and file names, made safe to print on a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with escape sequences (an OSC 52 would write the clipboard), other control characters
    and bidi overrides shown as `<U+001B>` etc.; newlines and tabs are kept."""
    return _CONTROL.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)
