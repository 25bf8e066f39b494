"""Request and response bodies of duties, payments and guarantees."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Money = str  # CNY with two decimals, as a string ("123.45")


class DutyItem(BaseModel):
    """One item's customs value and taxes (CNY)."""

    line: int
    customs_value: Money
    rate_kind: Literal["preferential", "provisional", "mfn", "general"]
    duty: Money
    consumption_tax: Money
    vat: Money


class DutyTotals(BaseModel):
    """Sums of the items' rounded taxes, waived taxes left out."""

    duty: Money
    consumption_tax: Money
    vat: Money
    total: Money


class Waived(BaseModel):
    """A tax waived because its total for the declaration is under the threshold."""

    tax: Literal["duty", "consumption_tax", "vat"]
    amount: Money


class Reassessment(BaseModel):
    """An assessment after the first: a new version (amendment) or the goods as an inspection found them."""

    version: int
    revision: int = Field(description="0 for the version as declared; 1, 2, ... for inspection findings on it")
    source: Literal["amendment", "inspection"]
    total: Money
    difference: Money = Field(description="Against the assessment before: positive recovered, negative a refund due")
    kind: Literal["recovered", "refund_due", "unchanged"]
    assessed_at: str


class DutiesRead(BaseModel):
    """A declaration's duties."""

    currency: Literal["CNY"]
    items: list[DutyItem]
    totals: DutyTotals
    status: Literal["unpaid", "guaranteed", "paid"]
    waived: list[Waived]
    reassessments: list[Reassessment] = Field(default_factory=list, description="Every reassessment, oldest first")
    recovered: Money = Field(default="0.00", description="Revenue recovered: the sum of the reassessments' increases")
    refund_due: Money = Field(default="0.00", description="What was paid beyond the duties now due")


class PaymentCreate(BaseModel):
    """A payment the bank confirms."""

    model_config = ConfigDict(extra="forbid")

    declaration: str = Field(min_length=1, max_length=18, description="Declaration number")
    amount: str = Field(min_length=1, max_length=20, description="CNY with at most two decimals", examples=["123.45"])
    reference: str = Field(min_length=1, max_length=64, description="The bank's reference; a repeat is answered with the first payment")
    payer: str | None = Field(default=None, min_length=18, max_length=18, description="USCC of the paying enterprise (checked if given)")


class PaymentRead(BaseModel):
    """A recorded payment."""

    reference: str
    declaration: str
    amount: Money
    received_at: str
    status: Literal["unpaid", "guaranteed", "paid"]


class GuaranteeCreate(BaseModel):
    """A guarantee an admin registers for an enterprise."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=18, max_length=18)
    amount: str = Field(min_length=1, max_length=20, examples=["500000.00"])
    expires: date | None = None


class GuaranteeRead(BaseModel):
    """A guarantee and its balance."""

    id: int
    uscc: str
    amount: Money
    balance: Money
    expires: date | None
    created_at: str


class TariffRates(BaseModel):
    """Every rate of a line in force (percent; specific in CNY per unit); null when the line has none."""

    mfn: str | None
    general: str | None
    provisional: str | None
    specific: str | None
    specific_unit: str | None
    consumption: str | None
    vat: str | None


class PreferenceRead(BaseModel):
    """A preferential rate in force for the line's code."""

    agreement: str
    origins: list[str]
    rate: str
    valid_from: date
    valid_to: date | None


class TariffRead(BaseModel):
    """The tariff line (longest code starting the asked one) in force on a day, with every rate."""

    code: str
    asked: str
    on: date
    description: str
    rates: TariffRates
    licence: str | None
    valid_from: date
    valid_to: date | None
    preferences: list[PreferenceRead]
