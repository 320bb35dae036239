"""ADF 1.0 XML (Auto-lead Data Format) → Lead: every ``<prospect>`` becomes one lead.

Pure Python: no Temporal, no network. Parsed with defusedxml: entity declarations and
external references are refused, so an entity bomb is an `AdfError`, never an expansion.

Where the ADF is found, as platforms and mailers really send it:
- a document of its own: BOM and whitespace first, the ``<?adf version="1.0"?>`` instruction
  before or after the XML declaration, in any case, or missing;
- the body of a plain-text or HTML e-mail: the ``<adf>…</adf>`` element is cut out of it; when
  there is no literal ``<adf`` but an HTML-escaped ``&lt;adf``, the body is unescaped first,
  and the line-break and paragraph tags of HTML mailers are removed from the element.
Element and attribute names are read in any case and without namespaces.

The lead's kind: the first row that matches wins.

| the prospect has                                                          | kind          |
|---------------------------------------------------------------------------|---------------|
| a ``<price type="offer">`` with a readable amount above 0, on any vehicle | offer         |
| a vehicle with ``interest="test-drive"``                                  | test_drive    |
| vehicles, all of them with ``interest="trade-in"`` or ``"sell"``          | trade_in      |
| a ``<price>`` of type quote (ADF's default), asking or msrp on a vehicle  | price_request |
| the customer wants (a trade-in's asking price is not a price request)     |               |
| anything else: buy, lease, no vehicle                                     | general       |

A readable amount is digits with optional thousands commas and up to two decimals, with an
optional currency sign or code: ``9500``, ``9,500.00``, ``EUR 9500``, ``€ 9500,-``. ``9.500``
is ambiguous (nine and a half or nine thousand five hundred) and is not read: no guessing.

The rest of the mapping:
- source: the first ``<id>``'s ``source`` attribute, else ``<provider><name>``, else ``adf``,
  as a lower-case slug; external_id: the first ``<id>``'s text.
- received_at: ``<requestdate>`` as ISO 8601 (an offset is kept, none stays naive); unreadable
  is None: the intake stamps the arrival time.
- customer: the contact marked ``primarycontact="1"``, else the first. Name: ``part="full"``
  (or no part), else first, middle, last and suffix joined. E-mail: the one marked
  ``preferredcontact="1"``, else the first. Phone: marked preferred first, then cellphone, then
  voice (fax and pager are never used). preferred_channel: ``phone`` or ``email`` when exactly
  one of the chosen phone and e-mail is marked preferred.
- vehicle: the first vehicle the customer wants (interest not trade-in or sell); a trade-in
  lead's vehicle is the car offered in trade, the only car it names.
- message: ``<customer><comments>``, then each vehicle's ``<comments>``, blank-line separated.
Values are stripped; empty elements are None; values longer than a lead field allows are
truncated, not refused.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import ErrorString

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException, EntitiesForbidden
from pydantic import ValidationError

from leads.models import Lead, LeadKind

SHORT = 200  # leads.models.ShortText
PHONE = 40
SOURCE = 64
MESSAGE = 10_000
DEFAULT_SOURCE = "adf"

TRADING = frozenset({"tradein", "sell"})  # interests that offer the customer's car
QUOTED = frozenset({"quote", "asking", "msrp"})  # price types that make a price request
CELL = frozenset({"cellphone", "cell", "mobile", "mobilephone", "cellular"})
UNUSABLE_PHONES = frozenset({"fax", "pager"})
MARKED = frozenset({"1", "true", "yes"})
NAME_ORDER = ("first", "middle", "last", "suffix")


class AdfError(ValueError):
    """The document cannot be read as ADF; the message names what is wrong (never quotes
    personal data)."""


def parse_adf(document: str | bytes) -> list[Lead]:
    """Every ``<prospect>`` of the ADF document as a Lead (``dealer_id`` left None)."""
    root = _parse(_locate(_decode(document)))
    prospects = _children(root, "prospect")
    if not prospects:
        raise AdfError("no <prospect> in the ADF document")
    return [_lead(prospect, number) for number, prospect in enumerate(prospects, 1)]


# --- finding the ADF element in the text -----------------------------------------------------

_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_FIRST = b"< \t\r\n"  # the characters an XML document can start with
_UTF16_LE_STARTS = frozenset(bytes([ch, 0]) for ch in _XML_FIRST)
_UTF16_BE_STARTS = frozenset(bytes([0, ch]) for ch in _XML_FIRST)
_ADF_START = re.compile(r"<adf[\s/>]", re.I)
_ADF_END = re.compile(r"</adf\s*>", re.I)
_ESCAPED_ADF_START = re.compile(r"&lt;adf[\s/&]", re.I)
# What may stand before the root element of an XML document; anything else is an e-mail body.
_PROLOG_PART = re.compile(
    r"[\s\ufeff]+|<\?.*?\?>|<!--.*?-->|<!doctype\b[^\[>]*(?:\[.*?\]\s*)?>", re.I | re.S
)
# Expat accepts the XML declaration only as the very first bytes, and the adf instruction is
# only a marker: both are blanked (same length, so parse errors keep their line and column).
_BLANKED_IN_PROLOG = re.compile(r"\ufeff|<\?(?:adf|xml)(?=[\s?]).*?\?>", re.I | re.S)
# Tags HTML mailers put into the ADF text; none of them is an ADF element name.
_MAILER_BREAK = re.compile(r"<br\s*/?>\r?\n?", re.I)
_MAILER_TAG = re.compile(r"</?(?:p|div|span|font|wbr)\b[^>]*>", re.I)


def _decode(document: str | bytes) -> str:
    """Bytes by their BOM, else UTF-16 by its zero bytes, else the XML declaration's encoding,
    else UTF-8; undeclared bytes that are not UTF-8 are read as Windows-1252, which is what
    such senders write."""
    if isinstance(document, str):
        return document
    for bom, codec in _BOMS:
        if document.startswith(bom):
            return _decode_as(document, codec)
    # UTF-16 without a BOM, told by its first character, as XML 1.0 appendix F does: '<' or
    # white space is one ASCII byte and a zero byte, in that order (LE) or the other (BE).
    if document[:2] in _UTF16_LE_STARTS:
        return _decode_as(document, "utf-16-le")
    if document[:2] in _UTF16_BE_STARTS:
        return _decode_as(document, "utf-16-be")
    declared = _DECLARED_ENCODING.search(document[:1024])
    if declared:
        return _decode_as(document, declared.group(1).decode("ascii"))
    try:
        return document.decode("utf-8")
    except UnicodeDecodeError:
        return document.decode("cp1252", errors="replace")


def _decode_as(document: bytes, encoding: str) -> str:
    try:
        return document.decode(encoding)
    except LookupError:
        raise AdfError(f"unknown encoding {encoding!r} in the XML declaration") from None
    except UnicodeDecodeError as error:
        raise AdfError(f"the document is not valid {encoding} (byte {error.start})") from None
    except UnicodeError:  # codecs that refuse to decode at all, e.g. "undefined"
        raise AdfError(f"encoding {encoding!r} in the XML declaration cannot be read") from None


def _locate(text: str) -> str:
    """The XML text to parse: the ``<adf>`` element, with its prolog when it has one."""
    start = _ADF_START.search(text)
    escaped = False
    if start is None and _ESCAPED_ADF_START.search(text):
        text = html.unescape(text).replace("\xa0", " ")
        escaped = True
        start = _ADF_START.search(text)
    if start is None:
        raise AdfError("no <adf> element in the document")
    end = _ADF_END.search(text, start.end())
    prefix, element = text[: start.start()], text[start.start() : end.end() if end else None]
    if not escaped and _is_prolog(prefix):
        return _BLANKED_IN_PROLOG.sub(_blank, prefix) + element
    # An e-mail body: keep its line count so that a parse error's line still points at it.
    # `&nbsp;` is HTML, never XML (no DTD declares it): a space is what the mailer meant.
    element = _MAILER_TAG.sub("", _MAILER_BREAK.sub("\n", element)).replace("&nbsp;", " ")
    return "\n" * prefix.count("\n") + element


def _is_prolog(prefix: str) -> bool:
    position = 0
    while position < len(prefix):
        part = _PROLOG_PART.match(prefix, position)
        if part is None:
            return False
        position = part.end()
    return True


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group())


def _parse(text: str) -> Element:
    """The root element with names lower-cased and namespaces dropped."""
    try:
        root: Element = DefusedET.fromstring(
            text, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    # `from None`: defusedxml's messages quote the document's entity names and addresses.
    except EntitiesForbidden:
        raise AdfError("the document declares XML entities, which ADF does not allow") from None
    except DefusedXmlException:
        raise AdfError("the document uses a forbidden XML feature (DTD or external)") from None
    except ParseError as error:
        line, column = error.position
        raise AdfError(
            f"not well-formed XML at line {line}, column {column + 1}: {ErrorString(error.code)}"
        ) from None
    for element in root.iter():
        element.tag = _local(element.tag).lower()
        element.attrib = {_local(name).lower(): value for name, value in element.attrib.items()}
    return root


def _local(name: str) -> str:
    return name.rpartition("}")[2]


# --- one prospect → one Lead ----------------------------------------------------------------


def _lead(prospect: Element, number: int) -> Lead:
    vehicles = _children(prospect, "vehicle")
    wanted = [vehicle for vehicle in vehicles if _interest(vehicle) not in TRADING]
    offer = _offer_amount(vehicles)
    first_id = _child(prospect, "id")
    data: dict[str, Any] = {
        "source": _source(first_id, _child(prospect, "provider")),
        "external_id": _text(first_id),
        "kind": _kind(vehicles, wanted, offer),
        "received_at": _datetime(_text(_child(prospect, "requestdate"))),
        "customer": _customer(_child(prospect, "customer")),
        "vehicle": _vehicle(wanted[0] if wanted else _first(vehicles)),
        "message": _message(prospect, vehicles),
        "offer_amount": offer,
    }
    try:
        return Lead.model_validate(data)
    except ValidationError as error:
        # Lead hides input values in its errors: the message names fields, never data.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(lead)'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise AdfError(f"prospect {number}: {problems}") from None


def _kind(vehicles: list[Element], wanted: list[Element], offer: float | None) -> LeadKind:
    """The precedence table of the module docstring, row by row."""
    interests = {_interest(vehicle) for vehicle in vehicles}
    if offer is not None:
        return LeadKind.OFFER
    if "testdrive" in interests:
        return LeadKind.TEST_DRIVE
    if interests and interests <= TRADING:
        return LeadKind.TRADE_IN
    if any(_price_type(price) in QUOTED for vehicle in wanted for price in _prices(vehicle)):
        return LeadKind.PRICE_REQUEST
    return LeadKind.GENERAL


def _interest(vehicle: Element) -> str:
    """Letters only, so ``trade-in``, ``Trade In`` and ``tradein`` are one; ADF's default is
    buy."""
    return re.sub(r"[^a-z]", "", _attribute(vehicle, "interest")) or "buy"


def _prices(vehicle: Element) -> list[Element]:
    return _children(vehicle, "price")


def _price_type(price: Element) -> str:
    return _attribute(price, "type") or "quote"  # ADF's default


_AMOUNT = re.compile(
    r"(?:[a-z]{3}|[€$£])?\s*"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
    r"\s*(?:[a-z]{3}|,-)?",
    re.I,
)


def _offer_amount(vehicles: list[Element]) -> float | None:
    """The first readable offer in the prospect; see the module docstring for readable."""
    for vehicle in vehicles:
        for price in _prices(vehicle):
            if _price_type(price) != "offer":
                continue
            amount = _amount(_text(price))
            if amount is not None:
                return amount
    return None


def _amount(text: str | None) -> float | None:
    match = _AMOUNT.fullmatch(text) if text else None
    if match is None:
        return None
    amount = float(match.group("number").replace(",", ""))
    return amount if amount > 0 else None


def _source(first_id: Element | None, provider: Element | None) -> str:
    """A slug: it is a search attribute and appears in task summaries."""
    for candidate in (_attribute(first_id, "source"), _text(_child(provider, "name")) or ""):
        slug = re.sub(r"[^a-z0-9._-]+", "-", candidate.lower()).strip("-._")[:SOURCE]
        if slug := slug.strip("-._"):
            return slug
    return DEFAULT_SOURCE


def _datetime(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _customer(customer: Element | None) -> dict[str, Any]:
    contacts = _children(customer, "contact")
    contact = next((c for c in contacts if _marked(c, "primarycontact")), _first(contacts))
    email = _best(_filled(_children(contact, "email")), _email_rank)
    phone = _best(_usable_phones(contact), _phone_rank)
    email_marked = email is not None and _marked(email, "preferredcontact")
    phone_marked = phone is not None and _marked(phone, "preferredcontact")
    preferred = None
    if email_marked != phone_marked:
        preferred = "email" if email_marked else "phone"
    return {
        "name": _name(contact),
        "email": _text(email),
        "phone": _text(phone, PHONE),
        "preferred_channel": preferred,
    }


def _name(contact: Element | None) -> str | None:
    parts: dict[str, str] = {}
    for name in _children(contact, "name"):
        value = _text(name)
        if value:
            parts.setdefault(_attribute(name, "part") or "full", value)
    if "full" in parts:
        return parts["full"]
    return _clip(" ".join(parts[part] for part in NAME_ORDER if part in parts), SHORT)


def _usable_phones(contact: Element | None) -> list[Element]:
    phones = _filled(_children(contact, "phone"))
    return [phone for phone in phones if _phone_type(phone) not in UNUSABLE_PHONES]


def _phone_type(phone: Element) -> str:
    return re.sub(r"[^a-z]", "", _attribute(phone, "type")) or "voice"  # ADF's default


def _email_rank(email: Element) -> tuple[bool, ...]:
    """Sort key, lowest first: marked preferred."""
    return (not _marked(email, "preferredcontact"),)


def _phone_rank(phone: Element) -> tuple[bool, ...]:
    """Sort key, lowest first: marked preferred, then cellphone (any other type is voice)."""
    return (not _marked(phone, "preferredcontact"), _phone_type(phone) not in CELL)


def _vehicle(vehicle: Element | None) -> dict[str, Any] | None:
    if vehicle is None:
        return None
    fields = {
        "make": _text(_child(vehicle, "make")),
        "model": _text(_child(vehicle, "model")),
        "year": _year(_text(_child(vehicle, "year"))),
        "stock_id": _text(_child(vehicle, "stock")),
    }
    return fields if any(value is not None for value in fields.values()) else None


def _year(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\d{4}", text):
        return None
    year = int(text)
    return year if 1900 <= year <= 2100 else None  # Vehicle's bounds: out of range is unknown


def _message(prospect: Element, vehicles: list[Element]) -> str | None:
    holders = [_child(prospect, "customer"), *vehicles]
    comments = [_paragraphs(_child(holder, "comments")) for holder in holders]
    return _clip("\n\n".join(comment for comment in comments if comment), MESSAGE)


def _paragraphs(element: Element | None) -> str | None:
    """Free text keeps its line breaks; the XML's indentation and extra blank lines go."""
    if element is None:
        return None
    lines = (line.strip() for line in "".join(element.itertext()).splitlines())
    return _clip(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)), MESSAGE)


# --- element helpers -------------------------------------------------------------------------


def _children(parent: Element | None, tag: str) -> list[Element]:
    return [] if parent is None else [child for child in parent if child.tag == tag]


def _child(parent: Element | None, tag: str) -> Element | None:
    return _first(_children(parent, tag))


def _first(elements: list[Element]) -> Element | None:
    return elements[0] if elements else None


def _filled(elements: Iterable[Element]) -> list[Element]:
    return [element for element in elements if _text(element)]


def _best(elements: list[Element], key: Callable[[Element], tuple[bool, ...]]) -> Element | None:
    """The best by key; ``sorted`` is stable, so document order breaks ties."""
    return _first(sorted(elements, key=key))


def _attribute(element: Element | None, name: str) -> str:
    """Attribute values are compared in lower case: ``part="First"`` is ``first``."""
    return "" if element is None else element.get(name, "").strip().lower()


def _marked(element: Element, name: str) -> bool:
    return _attribute(element, name) in MARKED


def _text(element: Element | None, limit: int = SHORT) -> str | None:
    """The element's text (nested markup included), whitespace runs as one space."""
    if element is None:
        return None
    return _clip(" ".join("".join(element.itertext()).split()), limit)


def _clip(text: str, limit: int) -> str | None:
    return text.strip()[:limit].strip() or None
