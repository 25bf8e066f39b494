"""Which role may do what: the one table of role rules (scope of declarations, office binding)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from smartcustoms.auth.models import Role


class Reach(enum.StrEnum):
    """Which declarations a role sees."""

    own = "own"  # those its enterprise lodged or that were lodged in its name
    office = "office"  # those lodged at the user's customs office
    national = "national"  # all
    none = "none"  # none through the declaration API (403)


@dataclass(frozen=True)
class RoleRule:
    """What one role is: where it works and which declarations it sees."""

    office_bound: bool  # works at one customs office, which the user must name when made
    reach: Reach
    lodges: bool = False  # lodges, amends, withdraws and uploads (its enterprise's own declarations only)
    decides: bool = False  # rejects or holds a declaration by hand
    grants_mandates: bool = False  # grants and revokes electronic mandates (as the importer)
    lists_all_mandates: bool = False
    office_optional: bool = False  # may name one office (then works there) or none (national, e.g. headquarters)
    enterprise_bound: bool = False  # the user belongs to one enterprise, named when made
    carries: bool = False  # lodges manifests, reports arrivals and amends manifests (its enterprise's own)
    reads_manifests: bool = False  # reads every manifest and its write-off (carriers read their own)
    tasks: frozenset[str] = frozenset()  # the kinds of task the sunshine draw gives this role
    supervises: bool = False  # sees every task of its office (all offices without one) and reassigns them
    checks_at_gate: bool = False  # asks whether a truck's container may leave, and reads its office's release feed
    holds_at_gate: bool = False  # holds a container at the gate and lifts such holds (office-bound roles: their office's)
    reads_revenue: bool = False  # the revenue page and CSV: its office's revenue when office-bound, else every office's


RULES: dict[Role, RoleRule] = {
    Role.enterprise: RoleRule(office_bound=False, reach=Reach.own, lodges=True, grants_mandates=True, enterprise_bound=True),
    Role.officer: RoleRule(
        office_bound=True,
        reach=Reach.office,
        decides=True,
        reads_manifests=True,
        tasks=frozenset({"review", "audit"}),
        holds_at_gate=True,
        reads_revenue=True,
    ),
    Role.inspector: RoleRule(office_bound=True, reach=Reach.office, reads_manifests=True, tasks=frozenset({"inspection"})),
    Role.gate: RoleRule(office_bound=True, reach=Reach.none, checks_at_gate=True),  # gate checks and its office's feed
    Role.carrier: RoleRule(office_bound=False, reach=Reach.none, enterprise_bound=True, carries=True),  # manifests only
    Role.scanner: RoleRule(office_bound=True, reach=Reach.none),  # uploads X-ray scans (POST /api/v1/scans)
    # X-ray images, through their tasks
    Role.image_analyst: RoleRule(office_bound=True, reach=Reach.none, tasks=frozenset({"image_review"})),
    Role.analyst: RoleRule(office_bound=False, reach=Reach.national, reads_manifests=True, reads_revenue=True),
    Role.supervisor: RoleRule(
        office_bound=False,
        reach=Reach.national,
        decides=True,
        office_optional=True,
        reads_manifests=True,
        supervises=True,
        holds_at_gate=True,
        reads_revenue=True,
    ),
    Role.agency: RoleRule(office_bound=False, reach=Reach.none),
    Role.bank: RoleRule(office_bound=False, reach=Reach.none),  # confirms duty payments (POST /api/v1/payments)
    Role.admin: RoleRule(
        office_bound=False,
        reach=Reach.national,
        decides=True,
        lists_all_mandates=True,
        reads_manifests=True,
        supervises=True,
        holds_at_gate=True,
        reads_revenue=True,
    ),
}

OFFICE_ROLES = frozenset(r for r, rule in RULES.items() if rule.office_bound)
NATIONAL_ROLES = frozenset(r for r, rule in RULES.items() if rule.reach is Reach.national)
OFFICE_OPTIONAL_ROLES = frozenset(r for r, rule in RULES.items() if rule.office_optional)
ENTERPRISE_ROLES = frozenset(r for r, rule in RULES.items() if rule.enterprise_bound)
DECIDERS = frozenset(r for r, rule in RULES.items() if rule.decides)
SUPERVISORS = frozenset(r for r, rule in RULES.items() if rule.supervises)
GATE_CHECKERS = frozenset(r for r, rule in RULES.items() if rule.checks_at_gate)
GATE_HOLDERS = frozenset(r for r, rule in RULES.items() if rule.holds_at_gate)
REVENUE_READERS = frozenset(r for r, rule in RULES.items() if rule.reads_revenue)
TASK_WORKERS = frozenset(r for r, rule in RULES.items() if rule.tasks)  # see only their tasks' declarations


def drawn_for(kind: str) -> tuple[Role, ...]:
    """The roles a task of this kind is drawn among."""
    return tuple(r for r, rule in RULES.items() if kind in rule.tasks)


def rule(role: Role) -> RoleRule:
    """The rules of a role."""
    return RULES[role]


def supervised_office(role: Role, office: str | None) -> str | None:
    """The office a supervising role acts for; None: every office (admins, and supervisors without an
    office, who work at headquarters). The task queue, the roster and office settings all use this."""
    if role not in SUPERVISORS:
        raise ValueError(f"{role.value} supervises no office")
    return None if role is Role.admin or not office else office
