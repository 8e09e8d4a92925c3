"""Text that XML 1.0 can carry, for every XML the catalogue writes (DataCite, PREMIS, OAI-PMH)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# XML 1.0 cannot carry these characters at all (not even escaped), nor UTF-8 a lone surrogate;
# records from older clients and error messages may hold them
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def text_element(parent: ET.Element, name: str, text: str, **attributes: str) -> ET.Element:
    """A child ``name`` of ``parent`` holding ``text`` (made XML-safe, as are the attributes)."""
    element = ET.SubElement(parent, name, {k: xml_safe(v) for k, v in attributes.items()})
    element.text = xml_safe(text)
    return element
