"""Routes for the tariff, a declaration's duties, bank payments and guarantees."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from smartcustoms.auth.models import Role
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import service as declaration_service
from smartcustoms.duty import payments
from smartcustoms.duty import service as duty_service
from smartcustoms.duty.models import DutyStatus
from smartcustoms.duty.schemas import DutiesRead, GuaranteeCreate, GuaranteeRead, PaymentCreate, PaymentRead, TariffRead
from smartcustoms.duty.service import money
from smartcustoms.kit.clock import utcnow
from smartcustoms.tariff import service as tariff_service
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import PrincipalDep, RuntimeDep

router = APIRouter(tags=["duty"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Role not allowed"},
    404: {"description": "No such tariff code or declaration, or not one the caller may see"},
    409: {"description": "Reference used for another payment, or nothing due; nothing changed"},
    422: {"description": "Every problem, with code, pointer and message"},
}
Code = Annotated[str, Path(min_length=1, max_length=10)]
Number = Annotated[str, Path(min_length=1, max_length=18)]


@router.get("/api/v1/tariff/{code}", response_model=TariffRead, responses=ERRORS, summary="A tariff line and its rates")
def tariff_line(rt: RuntimeDep, who: PrincipalDep, code: Code, on: Annotated[date | None, Query()] = None) -> TariffRead:
    """The longest tariff line starting `code` (8-10 digits) in force on `on` (default today), with every rate and preference."""
    day = on or utcnow().date()
    with rt.read() as s:
        found = tariff_service.lookup(s, code=code, on=day)
    ln = found.line

    def pct(v: Any) -> str | None:
        return None if v is None else str(v)

    return TariffRead(
        code=ln.code,
        asked=code,
        on=day,
        description=ln.description,
        rates={
            "mfn": pct(ln.mfn_rate),
            "general": pct(ln.general_rate),
            "provisional": pct(ln.provisional_rate),
            "specific": pct(ln.specific_rate),
            "specific_unit": ln.specific_unit,
            "consumption": pct(ln.consumption_rate),
            "vat": pct(ln.vat_rate),
        },
        licence=ln.licence,
        valid_from=ln.valid_from,
        valid_to=ln.valid_to,
        preferences=[
            {
                "agreement": p.agreement,
                "origins": p.origins.split(),
                "rate": str(p.rate),
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
            }
            for p in found.preferences
        ],
    )


@router.get("/api/v1/declarations/{number}/duties", response_model=DutiesRead, responses=ERRORS, summary="A declaration's duties")
def duties(rt: RuntimeDep, who: PrincipalDep, number: Number) -> Any:
    """Customs value, rate kind and taxes per item, totals, waived taxes and whether they are paid or guaranteed (CNY)."""
    with rt.read() as s:
        decl = declaration_service.get_visible(s, number=number, principal=who)
        return duty_service.body(s, declaration=decl)


@router.post("/api/v1/payments", status_code=201, response_model=PaymentRead, responses=ERRORS, summary="Confirm a payment (bank)")
def pay(rt: RuntimeDep, who: PrincipalDep, body: PaymentCreate, response: Response) -> PaymentRead:
    """A bank confirms a payment of the duties due on a declaration, which releases it if nothing else stops it.

    The same reference again answers 200 with the first payment.
    """
    with rt.write() as s:
        row, replay = clearance.pay(
            s, number=body.declaration, amount=body.amount, reference=body.reference, payer=body.payer, principal=who, now=utcnow()
        )
        acc = duty_service.account(s, row.declaration_id)
        out = PaymentRead(
            reference=row.reference,
            declaration=body.declaration,
            amount=money(row.amount_fen),
            received_at=row.received_at.isoformat(),
            status=(acc.status if acc else DutyStatus.paid).value,
        )
    if replay:
        response.status_code = 200
    return out


@router.post("/api/v1/guarantees", status_code=201, response_model=GuaranteeRead, responses=ERRORS, summary="Add a guarantee (admin)")
def add_guarantee(rt: RuntimeDep, who: PrincipalDep, body: GuaranteeCreate) -> Any:
    """Register an enterprise's guarantee; releases against it debit the balance, payments restore it.

    The enterprise's declarations waiting for their duties are released now when the balance covers them.
    """
    who.require(Role.admin)
    with rt.write() as s:
        row = clearance.add_guarantee(s, uscc=body.uscc, amount=body.amount, expires=body.expires, actor=who.actor(), now=utcnow())
        return payments.read_guarantee(row)


@router.get("/api/v1/guarantees", response_model=list[GuaranteeRead], responses=ERRORS, summary="List guarantees (admin)")
def list_guarantees(rt: RuntimeDep, who: PrincipalDep, uscc: Annotated[str | None, Query(max_length=18)] = None) -> Any:
    """Guarantees with their balances, of one enterprise if given."""
    who.require(Role.admin)
    with rt.read() as s:
        return [payments.read_guarantee(g) for g in payments.guarantees(s, uscc=uscc)]
