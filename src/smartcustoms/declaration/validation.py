"""Validation of a submitted declaration: every problem at once, each with a stable rule code.

Pure: reads only the submitted data, the reference catalog and the date it is given.
Each rule's code is stable; its message is the sentence a trader reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from stdnum import imo as stdnum_imo
from stdnum import iso6346
from stdnum.cn import uscc as stdnum_uscc

from smartcustoms.declaration.schemas import DECIMAL_FIELDS, DeclarationCreate
from smartcustoms.errors import Problem
from smartcustoms.reference.domain import Catalog

FAR_FUTURE_DAYS = 180
FAR_PAST_DAYS = 5 * 365
_DECIMAL_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")  # ASCII digits only: \d takes any script's
_HS_RE = re.compile(r"[0-9]+")
MAX_DECIMAL = Decimal("1e15")

# Documents every declaration under a procedure must carry.
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "general": ("invoice", "packing_list"),
    "processing_trade": ("invoice", "packing_list", "processing_manual"),
    "bonded": ("invoice", "packing_list", "warehouse_receipt"),
    "transit": ("transit_document",),
    "ecommerce": ("ecommerce_order",),
}
# Transport documents required by mode of transport.
TRANSPORT_DOCUMENTS: dict[str, str] = {"sea": "bill_of_lading", "air": "air_waybill"}


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to a field."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_LABELS = {
    "hs_code": "HS code",
    "uscc": "USCC",
    "imo": "IMO number",
    "net_mass_kg": "net mass (kg)",
    "gross_mass_kg": "gross mass (kg)",
    "gtin": "GTIN",
    "port_of_entry": "port of entry",
    "port_of_exit": "port of exit",
    "bill_of_lading": "bill of lading",
    "arrival_on": "arrival date",
    "departure_on": "departure date",
    "issued_on": "issue date",
    "client_reference": "client reference",
}
_INDEXED = {"items": "item", "containers": "container", "documents": "document", "seals": "seal"}


def label(loc: tuple[Any, ...]) -> str:
    """A field's location as a trader reads it: 'item 3 HS code'."""
    words: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            prev = loc[i - 1] if i else ""
            words[-1:] = [f"{_INDEXED.get(str(prev), str(prev))} {part + 1}"]
        else:
            words.append(_LABELS.get(part, part.replace("_", " ")))
    text = " ".join(words) or "the declaration"
    return text[0].upper() + text[1:]


def _from_pydantic(err: Any) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    where = label(loc)
    field = loc[-1] if loc else ""
    ptr = pointer(*loc)
    if kind == "missing":
        return Problem("DEC-SCH-001", ptr, f"{where} is required.")
    if kind == "extra_forbidden":
        return Problem("DEC-SCH-002", ptr, f"{where} is not a field of a declaration; remove it.")
    if field in DECIMAL_FIELDS and kind in ("string_type", "string_too_long"):
        return Problem("DEC-NUM-001", ptr, f'{where} must be a decimal number written as a string, like "1200.50".')
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        unit = "characters" if kind == "string_too_long" else "entries"
        return Problem("DEC-SCH-004", ptr, f"{where} is too long: at most {limit} {unit}.")
    if kind in ("string_too_short", "too_short"):
        if kind == "too_short":
            return Problem("DEC-SCH-006", ptr, f"{where} needs at least {ctx.get('min_length')} entry.")
        return Problem("DEC-SCH-006", ptr, f"{where} must not be empty.")
    if kind in ("literal_error", "enum"):
        return Problem("DEC-SCH-005", ptr, f"{where} must be one of {ctx.get('expected')}.")
    if kind == "text_invisible":
        return Problem("DEC-SCH-009", ptr, f"{where} {err['msg']}.")
    if kind.startswith("date"):
        return Problem("DEC-DAT-003", ptr, f"{where} must be a real date written YYYY-MM-DD.")
    if kind in ("greater_than_equal", "less_than_equal"):
        return Problem("DEC-SCH-007", ptr, f"{where} is out of range ({err['msg'].lower()}).")
    expected = kind.removesuffix("_type").removesuffix("_parsing").replace("model", "object").replace("dict", "object")
    return Problem("DEC-SCH-003", ptr, f"{where} must be of type {expected}.")


def _uscc_check(uscc: str) -> str:
    """'valid', 'checksum' or 'format'."""
    try:
        stdnum_uscc.validate(uscc)
    except stdnum_uscc.InvalidChecksum:
        return "checksum"
    except Exception:
        return "format"
    return "valid"


# The same few enterprises lodge again and again; only strings of a USCC's length are remembered,
# so that no one can fill memory with long ones.
_uscc_remembered = lru_cache(maxsize=4096)(_uscc_check)


def _decimal(raw: Any, loc: tuple[Any, ...], *, allow_zero: bool = False, places: int = 6) -> tuple[Decimal | None, Problem | None]:
    if not isinstance(raw, str):
        return None, None  # the schema step reports the wrong type
    if not _DECIMAL_RE.fullmatch(raw):
        return None, _number_problem("DEC-NUM-001", loc, f'must be a decimal number written as a string, like "1200.50"; got "{raw}".')
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None, _number_problem("DEC-NUM-001", loc, "is not a decimal number.")
    if value < 0 or (value == 0 and not allow_zero):
        return None, _number_problem("DEC-NUM-002", loc, f"must be {'zero or more' if allow_zero else 'greater than zero'}; got {raw}.")
    if value >= MAX_DECIMAL:
        return None, _number_problem("DEC-NUM-004", loc, "is implausibly large.")
    if -value.as_tuple().exponent > places:  # type: ignore[operator]
        return None, _number_problem("DEC-NUM-003", loc, f"has more than {places} decimal places.")
    return value, None


def _number_problem(code: str, loc: tuple[Any, ...], message: str) -> Problem:
    # Pointer and label are made only for a problem: most numbers are fine.
    return Problem(code, pointer(*loc), f"{label(loc)} {message}")


def _date(raw: Any) -> date | None:
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _str(d: Any, key: str) -> str | None:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, str) else None


def _list(d: Any, key: str) -> list[Any]:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, list) else []


def _domain(raw: dict[str, Any], cat: Catalog, today: date) -> Iterator[Problem]:
    kind = _str(raw, "kind")
    procedure = _str(raw, "procedure")
    # Parties by direction.
    if kind in ("import", "export"):
        trader, foreign, port = (
            ("importer", "consignor", "port_of_entry") if kind == "import" else ("exporter", "consignee", "port_of_exit")
        )
        other_trader, other_foreign, other_port = (
            ("exporter", "consignee", "port_of_exit") if kind == "import" else ("importer", "consignor", "port_of_entry")
        )
        for need in (trader, foreign, port):
            if raw.get(need) is None:
                yield Problem("DEC-SCH-001", pointer(need), f"{label((need,))} is required on an {kind} declaration.")
        for extra in (other_trader, other_foreign, other_port):
            if raw.get(extra) is not None:
                yield Problem(
                    "DEC-SCH-002",
                    pointer(extra),
                    f"{label((extra,))} does not belong on an {kind} declaration; use {label((extra.replace(other_trader, trader).replace(other_foreign, foreign).replace(other_port, port),)).lower()}.",
                )
    for party in ("declarant", "importer", "exporter"):
        uscc = _str(raw.get(party), "uscc")
        verdict = "valid" if uscc is None else _uscc_remembered(uscc) if len(uscc) == 18 else _uscc_check(uscc)
        if verdict == "checksum":
            yield Problem(
                "DEC-PTY-001",
                pointer(party, "uscc"),
                f"The {party}'s USCC {uscc} has a wrong check character; check it against the business licence.",
            )
        elif verdict != "valid":
            yield Problem(
                "DEC-PTY-002", pointer(party, "uscc"), f"The {party}'s USCC {uscc} is not an 18-character unified social credit code."
            )
    for party in ("consignor", "consignee"):
        country = _str(raw.get(party), "country")
        if country is not None and country not in cat.countries:
            yield Problem("DEC-REF-001", pointer(party, "country"), f"{country} is not an ISO 3166 country code.")
    office = _str(raw, "office")
    if office is not None and office not in cat.offices:
        yield Problem("DEC-REF-005", pointer("office"), f"{office} is not a known customs office.")
    for port_field in ("port_of_entry", "port_of_exit"):
        port_code = _str(raw, port_field)
        if port_code is not None and port_code not in cat.ports:
            yield Problem("DEC-REF-004", pointer(port_field), f"{port_code} is not a known UN/LOCODE port.")
    incoterm = _str(raw, "incoterm")
    if incoterm is not None and incoterm not in cat.incoterms:
        yield Problem("DEC-REF-006", pointer("incoterm"), f"{incoterm} is not an Incoterms 2020 rule (EXW, FCA, FOB, CIF, ...).")
    currency = _str(raw, "currency")
    if currency is not None and currency not in cat.currencies:
        yield Problem("DEC-REF-002", pointer("currency"), f"{currency} is not an ISO 4217 currency code.")
    for money in ("freight", "insurance"):
        _, p = _decimal(raw.get(money), (money,), allow_zero=True, places=2)
        if p:
            yield p
    # Transport.
    transport_raw = raw.get("transport")
    transport: dict[str, Any] = transport_raw if isinstance(transport_raw, dict) else {}
    mode = _str(transport, "mode")
    if mode is not None and mode not in cat.transport_modes:
        yield Problem(
            "DEC-REF-007", pointer("transport", "mode"), f"{mode} is not a transport mode ({', '.join(sorted(cat.transport_modes))})."
        )
    departure_country = _str(transport, "departure_country")
    if departure_country is not None and departure_country not in cat.countries:
        yield Problem("DEC-REF-001", pointer("transport", "departure_country"), f"{departure_country} is not an ISO 3166 country code.")
    if mode == "sea" and not _str(transport, "vessel"):
        yield Problem("DEC-TRN-002", pointer("transport", "vessel"), "A sea consignment needs the vessel's name.")
    imo = _str(transport, "imo")
    if imo is not None and not stdnum_imo.is_valid(imo):
        yield Problem("DEC-TRN-001", pointer("transport", "imo"), f"{imo} is not a valid IMO ship number (7 digits with a check digit).")
    dep, arr = _date(transport.get("departure_on")), _date(transport.get("arrival_on"))
    if dep and arr and arr < dep:
        yield Problem("DEC-DAT-001", pointer("transport", "arrival_on"), f"The arrival date {arr} is before the departure date {dep}.")
    for key, d in (("departure_on", dep), ("arrival_on", arr)):
        if d and d > today + timedelta(days=FAR_FUTURE_DAYS):
            yield Problem("DEC-DAT-002", pointer("transport", key), f"{label((key,))} {d} is more than {FAR_FUTURE_DAYS} days ahead.")
        elif d and d < today - timedelta(days=FAR_PAST_DAYS):
            yield Problem("DEC-DAT-002", pointer("transport", key), f"{label((key,))} {d} is more than five years ago.")
    # Containers.
    seen_containers: dict[str, int] = {}
    for i, c in enumerate(_list(raw, "containers")):
        number = _str(c, "number")
        if number is None:
            continue
        if not iso6346.is_valid(number):
            try:
                iso6346.validate(number)
                msg = f"{number} is not an ISO 6346 container number."
            except iso6346.InvalidChecksum:
                msg = f"The container number {number} has a wrong check digit."
            except Exception:
                msg = f"{number} is not an ISO 6346 container number (4 letters, 6 digits, check digit)."
            yield Problem("DEC-CTR-001", pointer("containers", i, "number"), msg)
        elif number in seen_containers:
            yield Problem(
                "DEC-CTR-002",
                pointer("containers", i, "number"),
                f"Container {number} is listed twice (also container {seen_containers[number] + 1}).",
            )
        seen_containers.setdefault(number, i)
    # Items.
    seen_lines: dict[int, int] = {}
    seen_goods: dict[tuple[str, str, str], int] = {}
    for i, it in enumerate(_list(raw, "items")):
        if not isinstance(it, dict):
            continue
        line = it.get("line")
        if isinstance(line, int):
            if line in seen_lines:
                yield Problem(
                    "DEC-ITM-001", pointer("items", i, "line"), f"Line number {line} is used twice (also item {seen_lines[line] + 1})."
                )
            seen_lines.setdefault(line, i)
        hs = _str(it, "hs_code")
        if hs is not None:
            if not _HS_RE.fullmatch(hs) or len(hs) not in (6, 8, 10):
                yield Problem("DEC-HS-001", pointer("items", i, "hs_code"), f"HS code {hs!r} must be 6, 8 or 10 digits.")
            elif not cat.hs_valid(hs[:6], today):
                yield Problem("DEC-HS-002", pointer("items", i, "hs_code"), f"HS code {hs}: {hs[:6]} is not an HS subheading in force.")
        origin = _str(it, "origin")
        if origin is not None and origin not in cat.countries:
            yield Problem("DEC-REF-001", pointer("items", i, "origin"), f"{origin} is not an ISO 3166 country code.")
        unit = _str(it, "unit")
        if unit is not None and unit not in cat.units:
            yield Problem(
                "DEC-REF-003", pointer("items", i, "unit"), f"{unit} is not a UN/ECE Rec. 20 unit code (PCE, KGM, LTR, MTR, ...)."
            )
        values: dict[str, Decimal | None] = {}
        for key in ("quantity", "net_mass_kg", "gross_mass_kg", "value"):
            values[key], p = _decimal(it.get(key), ("items", i, key), places=2 if key == "value" else 6)
            if p:
                yield p
        net, gross = values["net_mass_kg"], values["gross_mass_kg"]
        if net is not None and gross is not None and net > gross:
            yield Problem(
                "DEC-MAS-001", pointer("items", i, "net_mass_kg"), f"Item {i + 1}: net mass {net} kg is above gross mass {gross} kg."
            )
        desc = _str(it, "description")
        if hs and desc and origin:
            key3 = (hs, desc.strip().lower(), origin)
            if key3 in seen_goods:
                yield Problem(
                    "DEC-ITM-002",
                    pointer("items", i),
                    f"Item {i + 1} repeats item {seen_goods[key3] + 1} (same HS code, description and origin); declare them as one line.",
                )
            seen_goods.setdefault(key3, i)
    # Documents.
    types_present: set[str] = set()
    seen_docs: set[tuple[str, str]] = set()
    for i, d in enumerate(_list(raw, "documents")):
        t, ref = _str(d, "type"), _str(d, "reference")
        if t:
            types_present.add(t)
        if t and ref:
            if (t, ref) in seen_docs:
                yield Problem("DEC-DOC-002", pointer("documents", i), f"Document {t} {ref} is listed twice.")
            seen_docs.add((t, ref))
        issued = _date(d.get("issued_on")) if isinstance(d, dict) else None
        if issued and issued > today:
            yield Problem("DEC-DAT-004", pointer("documents", i, "issued_on"), f"Document {ref or i + 1} is dated {issued}, after today.")
    if procedure in REQUIRED_DOCUMENTS:
        needed = list(REQUIRED_DOCUMENTS[procedure])
        if mode in TRANSPORT_DOCUMENTS and procedure != "ecommerce":
            needed.append(TRANSPORT_DOCUMENTS[mode])
        missing = [t for t in needed if t not in types_present]
        if missing:
            yield Problem(
                "DEC-DOC-001",
                pointer("documents"),
                f"The {procedure.replace('_', ' ')} procedure needs these documents: {', '.join(missing)}.",
            )


def validate(raw: Any, *, catalog: Catalog, today: date) -> tuple[DeclarationCreate | None, list[Problem]]:
    """Check a submitted declaration; returns the parsed declaration or every problem found."""
    if not isinstance(raw, dict):
        return None, [Problem("DEC-SCH-003", "", "A declaration must be a JSON object.")]
    problems: list[Problem] = []
    parsed: DeclarationCreate | None = None
    try:
        parsed = DeclarationCreate.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_from_pydantic(e) for e in exc.errors(include_url=False))
    flagged = {p.pointer for p in problems}
    for p in _control_characters(raw, ()):
        if p.pointer not in flagged:
            problems.append(p)
            flagged.add(p.pointer)
    for p in _domain(raw, catalog, today):
        if p.pointer not in flagged:
            problems.append(p)
            flagged.add(p.pointer)
    problems.sort(key=lambda p: _natural(p.pointer))
    return (parsed if not problems else None), problems


# C0 controls other than tab, line feed and carriage return, and DEL: never part of a trader's
# text, and PostgreSQL cannot store NUL at all (so both databases refuse the same declarations).
# Lone UTF-16 surrogates (JSON's "\ud800") are no characters at all and cannot even be encoded.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Whether the text holds a character no declaration text may hold (DEC-SCH-008)."""
    return _CONTROL_RE.search(text) is not None


def without_control_characters(text: str) -> str:
    """The text with those characters removed (for keeping a refused submission's reference)."""
    return _CONTROL_RE.sub("", text)


def _control_characters(value: Any, loc: tuple[Any, ...]) -> Iterator[Problem]:
    if isinstance(value, str):
        if _CONTROL_RE.search(value):
            yield Problem(
                "DEC-SCH-008", pointer(*loc), f"{label(loc)} holds a control character (such as NUL) or a lone surrogate; remove it."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _control_characters(item, (*loc, i))


def _natural(ptr: str) -> list[Any]:
    return [(0, int(s), "") if s.isascii() and s.isdigit() else (1, 0, s) for s in ptr.split("/")]


def totals(decl: DeclarationCreate) -> tuple[Decimal, int]:
    """The declaration's total item value and item count."""
    return sum((Decimal(i.value) for i in decl.items), Decimal(0)), len(decl.items)
