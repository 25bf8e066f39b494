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


RULES: dict[Role, RoleRule] = {
    Role.enterprise: RoleRule(office_bound=False, reach=Reach.own, lodges=True, grants_mandates=True),
    Role.officer: RoleRule(office_bound=True, reach=Reach.office, decides=True),
    Role.inspector: RoleRule(office_bound=True, reach=Reach.office),
    Role.gate: RoleRule(office_bound=True, reach=Reach.none),
    Role.scanner: RoleRule(office_bound=True, reach=Reach.none),  # uploads X-ray scans (POST /api/v1/scans)
    Role.image_analyst: RoleRule(office_bound=True, reach=Reach.none),  # X-ray images, through their tasks
    Role.analyst: RoleRule(office_bound=False, reach=Reach.national),
    Role.supervisor: RoleRule(office_bound=False, reach=Reach.national, decides=True),
    Role.agency: RoleRule(office_bound=False, reach=Reach.none),
    Role.admin: RoleRule(office_bound=False, reach=Reach.national, decides=True, lists_all_mandates=True),
}

OFFICE_ROLES = frozenset(r for r, rule in RULES.items() if rule.office_bound)
NATIONAL_ROLES = frozenset(r for r, rule in RULES.items() if rule.reach is Reach.national)
DECIDERS = frozenset(r for r, rule in RULES.items() if rule.decides)


def rule(role: Role) -> RoleRule:
    """The rules of a role."""
    return RULES[role]
