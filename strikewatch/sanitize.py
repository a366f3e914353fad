"""What a terminal may be shown of text that came from a feed: no escapes, no control characters."""

from __future__ import annotations

import re

# C0 and C1 control characters (bar tab and newline), DEL, the bidi overrides that can disguise
# text, and lone surrogates (no encoding can write them); together with ESC they are how a feed
# could drive a terminal.
_CONTROLS_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# Whole escape sequences go, not just their ESC, so no "[31m" debris is left behind: CSI,
# OSC/DCS/APC/PM strings up to BEL or ST, and two-character escapes. A single C1 character is
# what a mis-decoded windows-1252 or UTF-8 byte becomes (the "\x9d" of a mangled right quote),
# so it is removed alone, never with the text after it (which, bare of its introducer, is only
# text); the one exception is an 8-bit CSI with numeric parameters and a final byte ("\x9b31m"),
# which no mis-decoding writes.
_ESCAPES_RE = re.compile(
    "\x1b\\[[0-?]*[ -/]*[@-~]"
    "|\x9b[0-?]*[0-9][0-?]*[@-~]"
    "|\x1b[\\]P^_X][^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"
    "|\x1b[@-Z\\-_]"
)


def strip_controls(text: str) -> str:
    """Remove escape sequences and characters a terminal would act on rather than print."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES_RE.sub("", text)
    return _CONTROLS_RE.sub("", text)
