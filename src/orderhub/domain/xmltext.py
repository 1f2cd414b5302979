"""Text that XML 1.0 cannot carry: how to find it, and the one rule that writes it in XML.

XML 1.0's `Char` production allows TAB, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD and
U+10000-U+10FFFF. Anything else (the other C0 controls, lone surrogates, U+FFFE, U+FFFF) makes a
document no parser accepts. The hub refuses such characters at its own inputs, but channels may
still deliver them, so on output each one is written as `\\uXXXX` (see docs/api.md, "XML").
"""

from __future__ import annotations

import re

#: One character that XML 1.0 cannot carry.
NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: What a problem says such a field expects.
XML_SAFE = "no control characters other than tab and line breaks, and no U+FFFE or U+FFFF"


def has_non_xml_char(text: str) -> bool:
    return NOT_XML_CHAR.search(text) is not None


def escape_non_xml(text: str) -> str:
    """JSON-style: backslashes doubled, each character XML cannot carry as `\\uXXXX`."""
    return NOT_XML_CHAR.sub(_escaped, text.replace("\\", "\\\\"))


def unescape_non_xml(text: str) -> str:
    """The inverse of escape_non_xml (for clients and tests)."""
    return re.sub(r"\\(\\|u[0-9A-F]{4})", _unescaped, text)


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04X}"


def _unescaped(match: re.Match[str]) -> str:
    token = match[1]
    return "\\" if token == "\\" else chr(int(token[1:], 16))
