"""A manifest as carriers send it, arrival reports and amendments, and what the API answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.kit.text import IsoDate, Visible


def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("must not contain control characters")
    return text


Printable = AfterValidator(_printable)
Ref35 = Annotated[str, StringConstraints(min_length=1, max_length=35), Visible, Printable]
ContainerNo = Annotated[str, StringConstraints(min_length=1, max_length=11), Visible, Printable]
Text = Annotated[str, StringConstraints(min_length=1, max_length=255), Visible, Printable]
DecimalStr = Annotated[str, StringConstraints(max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ManifestLineIn(_Strict):
    """One bill of lading (air waybill for flights) on the manifest."""

    bill_of_lading: Ref35
    containers: list[ContainerNo] = Field(default_factory=list, max_length=500)
    packages: int = Field(description="number of packages (at least one)")
    gross_mass_kg: DecimalStr = Field(description='gross mass in kg as a decimal string, e.g. "12000.5"')
    goods: Text


class ManifestCreate(_Strict):
    """A cargo manifest lodged before arrival: the vessel (sea) or flight (air), the voyage, the port and the lines."""

    mode: Literal["sea", "air"]
    vessel: Annotated[str, StringConstraints(min_length=1, max_length=70), Visible, Printable] | None = None
    imo: Annotated[str, Printable] | None = Field(default=None, max_length=10)
    flight: Ref35 | None = None
    voyage: Ref35 | None = None
    port: str = Field(max_length=5, description="UN/LOCODE of the port of arrival")
    expected_arrival_on: IsoDate
    lines: list[ManifestLineIn] = Field(min_length=1, max_length=5000)


class ArrivalLine(_Strict):
    """What was unloaded under one bill of lading."""

    bill_of_lading: Ref35
    containers: list[ContainerNo] = Field(default_factory=list, max_length=500)
    packages: int | None = Field(default=None, description="packages unloaded, when counted")


class ArrivalReport(_Strict):
    """The carrier confirms arrival and what was unloaded; a manifested line left out was not unloaded."""

    arrived_on: IsoDate
    lines: list[ArrivalLine] = Field(default_factory=list, max_length=5000)


class ManifestAmendment(_Strict):
    """A new version of the whole manifest, with the reason for the change."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    manifest: ManifestCreate


class LineRead(BaseModel):
    """A manifest line with what is known of it: unloaded or not, and the declarations that cover it."""

    line: int
    bill_of_lading: str
    containers: list[str]
    packages: int
    gross_mass_kg: str
    goods: str
    unloaded: bool | None = Field(description="null until the arrival report")
    match: Literal["open", "partial", "matched"]
    split: bool = Field(description="more than one declaration covers the line")
    declarations: list[str]
    declared_gross_mass_kg: str
    containers_undeclared: list[str]
    containers_not_manifested: list[str] = Field(description="declared under this bill of lading but not on the line")


class ManifestRead(BaseModel):
    """A manifest as it stands."""

    id: int
    carrier: str
    mode: str
    vessel: str | None
    flight: str | None
    voyage: str | None
    port: str
    expected_arrival_on: date
    status: Literal["lodged", "arrived"]
    arrived_on: date | None
    version: int
    lodged_at: datetime
    updated_at: datetime
    lines: list[LineRead]
    excess: list[dict[str, object]] = Field(description="unloaded but not manifested, or declared beyond the manifest")
    shortage: list[dict[str, object]] = Field(description="manifested but not unloaded")
    versions: list[dict[str, object]]


class ManifestSummary(BaseModel):
    """A manifest in a list."""

    id: int
    carrier: str
    mode: str
    craft: str
    voyage: str | None
    port: str
    expected_arrival_on: date
    status: str
    version: int
    lines: int


class OpenLine(BaseModel):
    """A line not yet written off, with its age."""

    bill_of_lading: str
    match: Literal["open", "partial"]
    declarations: list[str]
    since: date = Field(description="the arrival date, or the expected arrival before the report")
    age_days: int
    overdue: bool


class WriteOff(BaseModel):
    """How much of a manifest the declarations have written off."""

    manifest: int
    lines: int
    written_off: int
    rate: str = Field(description="written-off lines / lines, four decimals")
    on: date
    alert_after_days: int
    open: list[OpenLine]
    alerts: list[dict[str, str]]
