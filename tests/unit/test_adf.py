"""leads.adf: ADF 1.0 XML, as dealer platforms and mailers really send it, → Lead.

The documents are files in tests/unit/adf/; every lead field is asserted. The kind follows the
precedence table of leads/adf.py: offer > test-drive > trade-in only > price request > general.
Errors are AdfError, quickly, and their messages never quote personal data."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from leads import adf
from leads.adf import AdfError, parse_adf
from leads.models import Channel, Customer, Lead, LeadKind, Vehicle

DOCUMENTS = Path(__file__).parent / "adf"
EXAMPLES = Path(__file__).parents[2] / "examples"
CET = timezone(timedelta(hours=1))


def read(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


def prospect(inner: str) -> str:
    """A minimal document around one prospect's inner XML."""
    return f'<?xml version="1.0"?><?adf version="1.0"?><adf><prospect>{inner}</prospect></adf>'


def only(document: str | bytes) -> Lead:
    leads = parse_adf(document)
    assert len(leads) == 1
    return leads[0]


# --- whole documents -------------------------------------------------------------------------

CASES: list[tuple[str, list[Lead]]] = [
    (
        # xml declaration, then the adf instruction; first + last name; cellphone beats voice
        # (listed first) and fax; address and timeframe ignored; an asking price.
        "xml-decl-then-adf-pi.xml",
        [
            Lead(
                source="autoscout24",
                external_id="as-100234",
                kind=LeadKind.PRICE_REQUEST,
                received_at=datetime(2026, 11, 23, 21, 14, tzinfo=CET),
                customer=Customer(
                    name="Pieter Bakker", email="pieter.bakker@example.nl", phone="+31 6 12345678"
                ),
                vehicle=Vehicle(make="Volkswagen", model="Golf", year=2019, stock_id="A123"),
                message="Wat is de laagste prijs?",
            )
        ],
    ),
    (
        # adf instruction before the xml declaration; no offset in the date; a preferred phone.
        "adf-pi-before-xml-decl.xml",
        [
            Lead(
                source="autohuis-west.nl-website",
                external_id="web-5521",
                kind=LeadKind.TEST_DRIVE,
                received_at=datetime(2026, 11, 23, 21, 14),
                customer=Customer(
                    name="Sanne Visser",
                    email="sanne@example.com",
                    phone="+31 6 87654321",
                    preferred_channel=Channel.PHONE,
                ),
                vehicle=Vehicle(make="Kia", model="EV6", year=2026, stock_id="K77"),
                message="Kan ik zaterdag een proefrit maken?",
            )
        ],
    ),
    (
        # <?ADF VERSION?>, element and attribute names in mixed case, name without part,
        # unreadable date, source from <provider><name>, a preferred e-mail, lease.
        "upper-case-pi.xml",
        [
            Lead(
                source="gaspedaal.nl",
                kind=LeadKind.GENERAL,
                customer=Customer(
                    name="Eva de Vries",
                    email="eva.devries@example.nl",
                    phone="+31 6 11223344",
                    preferred_channel=Channel.EMAIL,
                ),
                vehicle=Vehicle(make="Peugeot", model="e-208"),
            )
        ],
    ),
    (
        # BOM and blank lines first; trade-in only (its car is the vehicle); middle name;
        # pager ignored, a phone without type is voice; vehicle comments follow the customer's.
        "bom-leading-whitespace.xml",
        [
            Lead(
                source="marktplaats",
                external_id="mp-88123",
                kind=LeadKind.TRADE_IN,
                received_at=datetime(2026, 11, 24, 8, 5, tzinfo=UTC),
                customer=Customer(name="Joost van den Berg", phone="+31 10 1234567"),
                vehicle=Vehicle(make="Opel", model="Corsa", year=2014),
                message="Wat is mijn auto waard?\n\nKleine deuk in de achterklep.",
            )
        ],
    ),
    (
        # ADF in a plain-text e-mail with text before and after; the first <id> counts; an
        # offer beats the quote price and the trade-in; the bought car is the vehicle.
        "email-plain-text.xml",
        [
            Lead(
                source="marktplaats",
                external_id="mp-77001",
                kind=LeadKind.OFFER,
                received_at=datetime(2026, 11, 23, 21, 14, tzinfo=CET),
                customer=Customer(
                    name="Pieter Jansen", email="pieter.jansen@example.nl", phone="+31 6 12345678"
                ),
                vehicle=Vehicle(make="Toyota", model="Yaris", year=2020, stock_id="T55"),
                message="Mijn bod is inclusief inruil van de Panda.",
                offer_amount=11750.5,
            )
        ],
    ),
    (
        # HTML-escaped ADF in an HTML e-mail, with <br> and &nbsp; from the mailer.
        "email-html-escaped.xml",
        [
            Lead(
                source="autotrack",
                external_id="at-3141",
                kind=LeadKind.GENERAL,
                received_at=datetime(2026, 11, 25, 10, 30, tzinfo=CET),
                customer=Customer(name="Fatima El Amrani", email="fatima@example.com"),
                vehicle=Vehicle(make="Renault", model="Clio"),
                message="Is deze auto nog beschikbaar?\nIk kan morgen bellen.",
            )
        ],
    ),
    (
        # Two prospects, two leads. Full name beats parts; parts in any case; a <price> without
        # type is a quote (ADF's default).
        "two-prospects.xml",
        [
            Lead(
                source="autowereld",
                external_id="aw-1",
                customer=Customer(name="Anna Smit", email="anna.smit@example.nl"),
                vehicle=Vehicle(make="Skoda", model="Octavia", year=2022),
            ),
            Lead(
                source="autowereld",
                external_id="aw-2",
                kind=LeadKind.PRICE_REQUEST,
                customer=Customer(name="Kees de Groot", phone="+31 6 22334455"),
                vehicle=Vehicle(make="Skoda", model="Fabia"),
            ),
        ],
    ),
    (
        # Nothing but an e-mail address: no declaration, no id, no vehicle.
        "only-email.xml",
        [Lead(source="adf", customer=Customer(email="only@example.com"))],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[name for name, _ in CASES])
def test_document_gives_leads(name: str, expected: list[Lead]) -> None:
    assert parse_adf(read(name)) == expected


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[name for name, _ in CASES])
def test_text_and_bytes_give_the_same_leads(name: str, expected: list[Lead]) -> None:
    assert parse_adf(read(name).decode("utf-8")) == expected


def test_leads_have_no_dealer() -> None:
    assert all(lead.dealer_id is None for name, _ in CASES for lead in parse_adf(read(name)))


def test_examples_are_valid_adf() -> None:
    (drive,) = parse_adf((EXAMPLES / "adf-test-drive.xml").read_bytes())
    assert drive.kind is LeadKind.TEST_DRIVE
    assert drive.customer.email and drive.customer.phone
    offer, trade_in = parse_adf((EXAMPLES / "adf-two-prospects.xml").read_bytes())
    assert (offer.kind, offer.offer_amount) == (LeadKind.OFFER, 9500)
    assert (trade_in.kind, trade_in.customer.preferred_channel) == (LeadKind.TRADE_IN, "phone")


# --- the kind: offer > test-drive > trade-in only > price request > general --------------------


def vehicle(interest: str, *prices: str) -> str:
    return f'<vehicle interest="{interest}"><make>Kia</make>{"".join(prices)}</vehicle>'


def price(kind: str | None, amount: str = "9500") -> str:
    return f'<price type="{kind}">{amount}</price>' if kind else f"<price>{amount}</price>"


@pytest.mark.parametrize(
    ("vehicles", "kind"),
    [
        pytest.param(
            [vehicle("test-drive", price("offer"))], LeadKind.OFFER, id="offer-over-drive"
        ),
        pytest.param([vehicle("trade-in", price("offer"))], LeadKind.OFFER, id="offer-over-trade"),
        pytest.param(
            [vehicle("buy", price("quote")), vehicle("trade-in", price("offer"))],
            LeadKind.OFFER,
            id="offer-on-any-vehicle",
        ),
        pytest.param(
            [vehicle("buy", price("msrp")), vehicle("test-drive")],
            LeadKind.TEST_DRIVE,
            id="drive-over-price",
        ),
        pytest.param(
            [vehicle("trade-in"), vehicle("Test Drive")], LeadKind.TEST_DRIVE, id="drive-over-trade"
        ),
        pytest.param([vehicle("trade-in", price("asking"))], LeadKind.TRADE_IN, id="trade-in"),
        pytest.param([vehicle("sell"), vehicle("TradeIn")], LeadKind.TRADE_IN, id="sell"),
        pytest.param(
            [vehicle("buy"), vehicle("trade-in")], LeadKind.GENERAL, id="trade-in-with-purchase"
        ),
        pytest.param(
            [vehicle("buy"), vehicle("trade-in", price("asking"))],
            LeadKind.GENERAL,
            id="trade-in-asking-price-is-no-request",
        ),
        pytest.param([vehicle("buy", price("quote"))], LeadKind.PRICE_REQUEST, id="quote"),
        pytest.param([vehicle("lease", price("asking"))], LeadKind.PRICE_REQUEST, id="asking"),
        pytest.param([vehicle("buy", price("MSRP"))], LeadKind.PRICE_REQUEST, id="msrp"),
        pytest.param([vehicle("buy", price(None))], LeadKind.PRICE_REQUEST, id="untyped-quote"),
        pytest.param([vehicle("buy", price("invoice"))], LeadKind.GENERAL, id="invoice"),
        pytest.param([vehicle("buy", price("offer", "9.500"))], LeadKind.GENERAL, id="bad-offer"),
        pytest.param([vehicle("buy")], LeadKind.GENERAL, id="buy"),
        pytest.param([vehicle("")], LeadKind.GENERAL, id="no-interest-is-buy"),
        pytest.param([], LeadKind.GENERAL, id="no-vehicle"),
    ],
)
def test_kind_precedence(vehicles: list[str], kind: LeadKind) -> None:
    assert only(prospect("".join(vehicles))).kind is kind


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("9500", 9500),
        (" 9500.00 ", 9500),
        ("9,500", 9500),
        ("1,250,000.5", 1_250_000.5),
        ("EUR 9500", 9500),
        ("€9500", 9500),
        ("9500 EUR", 9500),
        ("€ 9500,-", 9500),
        ("9.500", None),  # nine and a half, or nine thousand five hundred: not guessed
        ("9500,00", None),
        ("-9500", None),
        ("0", None),
        ("negen mille", None),
        ("", None),
    ],
)
def test_offer_amount_is_read_only_when_unambiguous(text: str, amount: float | None) -> None:
    lead = only(prospect(vehicle("buy", price("offer", text))))
    assert lead.offer_amount == amount
    assert lead.kind is (LeadKind.OFFER if amount else LeadKind.GENERAL)


# --- fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T21:14:00+01:00", datetime(2026, 11, 23, 21, 14, tzinfo=CET)),
        ("2026-11-23T21:14:00+0100", datetime(2026, 11, 23, 21, 14, tzinfo=CET)),
        ("2026-11-23T20:14:00Z", datetime(2026, 11, 23, 20, 14, tzinfo=UTC)),
        ("  2026-11-23 21:14:00 ", datetime(2026, 11, 23, 21, 14)),
        ("11/23/2026 9:14 PM", None),
        ("", None),
    ],
)
def test_requestdate(text: str, expected: datetime | None) -> None:
    assert only(prospect(f"<requestdate>{text}</requestdate>")).received_at == expected


@pytest.mark.parametrize(
    ("contact", "customer"),
    [
        pytest.param(
            '<name part="last">Bakker</name><name part="first">Pieter</name>',
            Customer(name="Pieter Bakker"),
            id="first-last-in-any-order",
        ),
        pytest.param(
            '<name part="first">Pieter</name><name part="Full">P. Bakker</name>',
            Customer(name="P. Bakker"),
            id="full-wins",
        ),
        pytest.param("<name>  </name><email/><phone/>", Customer(), id="empty-elements-are-none"),
        pytest.param(
            '<phone type="fax">+31 20 1111111</phone><phone type="pager">+31 6 11111111</phone>',
            Customer(),
            id="fax-and-pager-are-not-phones",
        ),
        pytest.param(
            '<phone type="voice">+31 20 1234567</phone>'
            '<phone type="cellphone">+31 6 12345678</phone>',
            Customer(phone="+31 6 12345678"),
            id="cellphone-over-voice",
        ),
        pytest.param(
            '<phone type="cellphone">+31 6 12345678</phone>'
            '<phone type="voice" preferredcontact="1">+31 20 1234567</phone>',
            Customer(phone="+31 20 1234567", preferred_channel=Channel.PHONE),
            id="preferred-phone-over-cellphone",
        ),
        pytest.param(
            '<email>a@example.nl</email><email preferredcontact="1">b@example.nl</email>',
            Customer(email="b@example.nl", preferred_channel=Channel.EMAIL),
            id="preferred-email",
        ),
        pytest.param(
            '<email preferredcontact="1">a@example.nl</email>'
            '<phone preferredcontact="1">+31 6 12345678</phone>',
            Customer(email="a@example.nl", phone="+31 6 12345678"),
            id="both-preferred-is-no-preference",
        ),
        pytest.param(
            '<email preferredcontact="0">a@example.nl</email>',
            Customer(email="a@example.nl"),
            id="preferredcontact-0",
        ),
    ],
)
def test_contact(contact: str, customer: Customer) -> None:
    lead = only(prospect(f"<customer><contact>{contact}</contact></customer>"))
    assert lead.customer == customer


def test_primary_contact_is_chosen() -> None:
    customer = (
        "<customer><contact><email>other@example.nl</email></contact>"
        '<contact primarycontact="1"><email>primary@example.nl</email></contact></customer>'
    )
    assert only(prospect(customer)).customer.email == "primary@example.nl"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('<id source="AutoScout24 NL">x</id>', "autoscout24-nl"),
        ('<id source="  ">x</id><provider><name>CarsDirect</name></provider>', "carsdirect"),
        ("<id>x</id>", "adf"),
        ('<id source="' + "a" * 100 + '">x</id>', "a" * 64),
        ('<id source="--!!--">x</id>', "adf"),
    ],
)
def test_source_is_a_slug(source: str, expected: str) -> None:
    assert only(prospect(source)).source == expected


def test_vehicle_year_out_of_range_or_unreadable_is_none() -> None:
    lead = only(prospect("<vehicle><year>19</year><make>Kia</make></vehicle>"))
    assert lead.vehicle == Vehicle(make="Kia")
    assert only(prospect("<vehicle><year>2150</year></vehicle>")).vehicle is None


def test_long_values_are_truncated() -> None:
    lead = only(
        prospect(
            f'<id source="w">{"i" * 300}</id>'
            f"<vehicle><make>{'m' * 300}</make></vehicle>"
            f'<customer><contact><name part="full">{"n" * 300}</name>'
            f"<phone>{'6' * 60}</phone></contact>"
            f"<comments>{'c' * 12_000}</comments></customer>"
        )
    )
    assert lead.external_id == "i" * 200
    assert lead.vehicle == Vehicle(make="m" * 200)
    assert (lead.customer.name, lead.customer.phone) == ("n" * 200, "6" * 40)
    assert lead.message == "c" * 10_000


def test_comments_keep_lines_without_indentation() -> None:
    lead = only(
        prospect(
            "<customer><comments>\n    Hallo,\n\n\n\n    Graag een offerte.\n  </comments>"
            "</customer>"
            "<vehicle><comments> Met trekhaak </comments></vehicle>"
        )
    )
    assert lead.message == "Hallo,\n\nGraag een offerte.\n\nMet trekhaak"


def test_namespaces_are_ignored() -> None:
    document = (
        '<adf xmlns="urn:example:adf"><prospect><id source="s">1</id>'
        '<vehicle interest="test-drive"><make>Kia</make></vehicle></prospect></adf>'
    )
    lead = only(document)
    assert (lead.source, lead.kind, lead.vehicle) == ("s", LeadKind.TEST_DRIVE, Vehicle(make="Kia"))


def test_declared_encoding_is_honoured() -> None:
    document = '<?xml version="1.0" encoding="ISO-8859-1"?><adf><prospect><customer><contact>'
    document += '<name part="full">Zoë Müller</name></contact></customer></prospect></adf>'
    assert only(document.encode("iso-8859-1")).customer.name == "Zoë Müller"


def test_undeclared_windows_1252_is_read() -> None:
    document = '<adf><prospect><customer><contact><name part="full">René</name>'
    document += "</contact></customer></prospect></adf>"
    assert only(document.encode("cp1252")).customer.name == "René"


NAME = "José Müller-Ørsted"


def adf_in(label: str, encoding: str, bom: bool = False, external_id: str = "1") -> bytes:
    """An ADF document as a portal sends it: declared `label`, written in `encoding`."""
    text = (
        f'<?xml version="1.0" encoding="{label}"?><?adf version="1.0"?><adf><prospect>'
        f'<id source="portal">{external_id}</id><customer><contact>'
        f'<name part="full">{NAME}</name></contact></customer></prospect></adf>'
    )
    return (b"\xff\xfe" if bom else b"") + text.encode(encoding)


@pytest.mark.parametrize(
    "document",
    [
        adf_in("UTF-8", "utf-8"),
        adf_in("ISO-8859-1", "iso-8859-1"),
        adf_in("windows-1252", "cp1252"),
        adf_in("UTF-16", "utf-16-le", bom=True),
        adf_in("UTF-16", "utf-16-le"),
        adf_in("UTF-16", "utf-16-be"),
    ],
    ids=["utf-8", "iso-8859-1", "windows-1252", "utf-16-bom", "utf-16le-no-bom", "utf-16be-no-bom"],
)
def test_the_encodings_portals_send_keep_names_intact(document: bytes) -> None:
    """Issue 9, finding 1: portals send ADF in these encodings; UTF-16 without a byte order
    mark is recognised by its zero bytes, as XML 1.0 appendix F says."""
    assert only(document).customer.name == NAME


def test_doctype_without_entities_is_accepted() -> None:
    lead = only('<!DOCTYPE adf SYSTEM "adf.dtd"><adf><prospect><id>1</id></prospect></adf>')
    assert lead.external_id == "1"


# --- errors ----------------------------------------------------------------------------------

PERSONAL = ("pieter", "bakker", "example.nl", "lol")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("error-not-xml.xml", "not well-formed XML at line 10, column 22"),
        ("error-no-adf.xml", "no <adf> element in the document"),
        ("error-no-prospect.xml", "no <prospect> in the ADF document"),
        ("error-billion-laughs.xml", "declares XML entities"),
        ("error-external-entity.xml", "declares XML entities"),
    ],
)
def test_errors_name_the_problem_never_the_data(name: str, message: str) -> None:
    began = time.monotonic()
    with pytest.raises(AdfError) as raised:
        parse_adf(read(name))
    assert time.monotonic() - began < 1
    text = str(raised.value)
    assert message in text
    assert not any(personal in text.lower() for personal in PERSONAL)
    assert raised.value.__suppress_context__ or raised.value.__context__ is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "no <adf> element"),
        ("Beste dealer, bel mij terug.", "no <adf> element"),
        (b"\x00\x01\x02", "no <adf> element"),
        ("<adf>", "not well-formed XML at line 1, column 6: no element found"),
        ("<adf/>", "no <prospect>"),
        ("<html><body><adf><prospect></body></html>", "mismatched tag"),
        (b'<?xml version="1.0" encoding="nope"?><adf/>', "unknown encoding 'nope'"),
        (b'<?xml version="1.0" encoding="undefined"?><adf/>', "'undefined' .* cannot be read"),
        ('<?xml version="1.0" encoding="utf-8"?><adf>\xe9</adf>'.encode("latin-1"), "utf-8"),
    ],
)
def test_not_adf(document: str | bytes, message: str) -> None:
    with pytest.raises(AdfError, match=message):
        parse_adf(document)


def test_parse_error_line_counts_the_email_lines_before_the_adf() -> None:
    body = "Beste dealer,\n\nZie hieronder.\n<adf>\n<prospect>\n<name>x</naam>\n</prospect></adf>"
    with pytest.raises(AdfError, match="line 6, column 10: mismatched tag"):
        parse_adf(body)


def test_validation_errors_name_the_field_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # Truncation keeps real documents valid; a looser limit shows what a refusal looks like.
    monkeypatch.setattr(adf, "PHONE", 100)
    phone = "+31 6 12345678 (Pieter Bakker, bellen na 18:00 uur a.u.b.)"
    with pytest.raises(AdfError) as raised:
        parse_adf(prospect(f"<customer><contact><phone>{phone}</phone></contact></customer>"))
    expected = "prospect 1: customer.phone: String should have at most 40 characters"
    assert str(raised.value) == expected
