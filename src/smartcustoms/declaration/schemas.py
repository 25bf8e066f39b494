"""The declaration as traders send it, and as the API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.kit.text import IsoDate, Visible

DocType = Literal[
    "invoice",
    "packing_list",
    "bill_of_lading",
    "air_waybill",
    "rail_waybill",
    "road_waybill",
    "licence",
    "certificate_of_origin",
    "contract",
    "processing_manual",
    "warehouse_receipt",
    "transit_document",
    "ecommerce_order",
    "inspection_certificate",
    "other",
]
DecimalStr = Annotated[str, StringConstraints(max_length=32)]
Text35 = Annotated[str, StringConstraints(min_length=1, max_length=35)]
Ref35 = Annotated[str, StringConstraints(min_length=1, max_length=35), Visible]  # a reference: no invisible characters
Text70 = Annotated[str, StringConstraints(min_length=1, max_length=70)]
Text140 = Annotated[str, StringConstraints(min_length=1, max_length=140)]
Name140 = Annotated[str, StringConstraints(min_length=1, max_length=140), Visible]  # a name: no invisible characters
Text255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]

DECIMAL_FIELDS = frozenset({"quantity", "net_mass_kg", "gross_mass_kg", "value", "freight", "insurance"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyRef(_Strict):
    """An enterprise registered in China, by its USCC."""

    uscc: str = Field(max_length=18, examples=["91310000MA1FL8XX29"])
    name: Name140


class ForeignParty(_Strict):
    """A party abroad (consignor of imports, consignee of exports)."""

    name: Name140
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    address: Text255 | None = None


class Transport(_Strict):
    """How the goods travel."""

    mode: str = Field(max_length=20, description="sea, air, rail, road, post, multimodal, ...")
    vessel: Annotated[str, StringConstraints(min_length=1, max_length=70), Visible] | None = None
    imo: str | None = Field(default=None, max_length=10, description="IMO ship number, 7 digits")
    voyage: Ref35 | None = None
    flight: Ref35 | None = None
    vehicle: Ref35 | None = None
    bill_of_lading: Ref35 | None = None
    departure_on: IsoDate | None = None
    arrival_on: IsoDate | None = None
    departure_country: str | None = Field(
        default=None,
        max_length=2,
        description="ISO 3166-1 alpha-2: the country the goods were shipped from, a transshipment hub or the origin "
        "(risk analysis compares it with the items' origin; the consignor's country when absent)",
    )


class Container(_Strict):
    """A container with its seals."""

    number: str = Field(max_length=11, description="ISO 6346, with check digit")
    seals: list[Ref35] = Field(default_factory=list, max_length=10)


class Item(_Strict):
    """One line of goods under one HS code."""

    line: int = Field(ge=1, le=999)
    hs_code: str = Field(max_length=10, description="6, 8 or 10 digits; the first 6 must be an HS subheading")
    description: Text255
    origin: str = Field(max_length=2)
    quantity: DecimalStr
    unit: str = Field(max_length=3, description="UN/ECE Rec. 20 code")
    net_mass_kg: DecimalStr
    gross_mass_kg: DecimalStr
    value: DecimalStr
    gtin: str | None = Field(default=None, max_length=14)


class DocumentRef(_Strict):
    """A document the declaration relies on."""

    type: DocType
    reference: Ref35
    issued_on: IsoDate | None = None


class DeclarationCreate(_Strict):
    """A declaration as lodged through the single window (import or export)."""

    client_reference: Annotated[str, StringConstraints(min_length=1, max_length=64), Visible]
    kind: Literal["import", "export"]
    procedure: Literal["general", "processing_trade", "bonded", "transit", "ecommerce"]
    declarant: PartyRef
    importer: PartyRef | None = None
    exporter: PartyRef | None = None
    consignor: ForeignParty | None = None
    consignee: ForeignParty | None = None
    office: str = Field(max_length=4)
    port_of_entry: str | None = Field(default=None, max_length=5)
    port_of_exit: str | None = Field(default=None, max_length=5)
    transport: Transport
    containers: list[Container] = Field(default_factory=list, max_length=200)
    incoterm: str = Field(max_length=3)
    currency: str = Field(max_length=3)
    freight: DecimalStr | None = None
    insurance: DecimalStr | None = None
    items: list[Item] = Field(min_length=1, max_length=999)
    documents: list[DocumentRef] = Field(default_factory=list, max_length=100)
    remarks: Annotated[str, StringConstraints(max_length=500)] | None = None


class Receipt(BaseModel):
    """What lodging answers: the number, the status reached when the lodging committed, and the lane."""

    number: str
    status: str = Field(description="`assessed` once the risk engine has routed it (the same transaction)")
    client_reference: str
    lodged_at: datetime
    version: int
    advance: bool
    links: dict[str, str]
    assessment: dict[str, str] | None = Field(
        default=None,
        description="The lane (green, blue, yellow, red), the check it means (none, audit, document_review, inspection) "
        "and a sentence for the trader",
    )


class EventRead(BaseModel):
    """One event in a declaration's history."""

    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str | None
    to_status: str
    version: int
    actor_name: str
    actor_role: str
    reason: str | None
    at: datetime


class DocumentRead(BaseModel):
    """A document in the electronic archive."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    doc_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class DeclarationSummary(BaseModel):
    """A declaration in a list."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    status: str
    kind: str
    procedure: str
    client_reference: str
    declarant_uscc: str
    trader_uscc: str
    office: str
    port: str
    currency: str
    total_value: str
    item_count: int
    advance: bool
    version: int
    lodged_at: datetime
    updated_at: datetime


class DeclarationRead(DeclarationSummary):
    """A declaration with its content, history and documents."""

    declaration: dict[str, Any]
    events: list[EventRead]
    documents: list[DocumentRead]
    assessment: dict[str, Any] | None = Field(
        default=None,
        description="The risk assessment: lane, score, model, hits, contributions for analysts, supervisors and the "
        "office's officers; for the enterprise, what is being checked and why.",
    )
    queries: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Reviewing officers' questions and the enterprise's answers: {id, question, asked_at, answer, ...}",
    )
    release_conditions: list[dict[str, str]] = Field(
        default_factory=list,
        description="Why the declaration is not released yet: each release condition that does not hold, {code, message} "
        "(e.g. `duty_unpaid` until the bank's payment or a guarantee); empty once released, withdrawn or rejected.",
    )


class DeclarationPage(BaseModel):
    """A page of declarations."""

    items: list[DeclarationSummary]
    total: int
    limit: int
    offset: int


class VersionRead(BaseModel):
    """One version of a declaration's content."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    reason: str | None
    actor_name: str
    created_at: datetime
    content_sha256: str
    payload: dict[str, Any] | None = None


class AmendmentCreate(BaseModel):
    """An amendment: a JSON merge patch (RFC 7396) of the declaration, with the reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]
    patch: dict[str, Any] = Field(
        description="Fields to change; arrays (items, containers, documents) are replaced whole; null removes a field"
    )


class WithdrawalCreate(BaseModel):
    """A withdrawal, with the reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]
