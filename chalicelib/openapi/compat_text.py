"""Character classes of the compatibility APIs' parsers, spelled out for the API description.

The parsers strip and test blanks as Python does (``str.strip``, ``str.isspace``); a JSON
Schema pattern's ``\\s`` means something else in each engine (ECMA-262's takes U+FEFF and not
U+001C-U+001F or U+0085; schemathesis draws ASCII blanks only), so the description names
Python's blanks one by one.
"""

from __future__ import annotations


def _escaped(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# str.isspace(): every blank str.strip() removes (none lies past U+3000)
BLANKS = tuple(code for code in range(0x3001) if chr(code).isspace())
SPACE = "".join(_escaped(code) for code in BLANKS)  # inside a character class
BLANK = f"[{SPACE}]"
NOT_BLANK = f"[^{SPACE}]"
# a character that is neither blank nor a control character (\x00-\x1f, \x7f-\x9f)
VISIBLE = f"[^{SPACE}\\x00-\\x1f\\x7f-\\x9f]"


def stripped(most: int, least: int = 1) -> str:
    """A pattern of the strings that, blanks around them dropped, keep ``least`` (0 or 1) to
    ``most`` characters."""
    core = f"{NOT_BLANK}(?:[\\s\\S]{{0,{most - 2}}}{NOT_BLANK})?"
    return f"^{BLANK}*(?:{core}){'?' if least == 0 else ''}{BLANK}*$"
