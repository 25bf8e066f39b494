"""Who sees a declaration: the principal's scope (enterprise, office), task workers' reach, the 404 that hides the rest."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from smartcustoms.auth.models import Role
from smartcustoms.auth.roles import TASK_WORKERS, Reach, rule
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import Forbidden, NotFound


def scope(principal: Principal) -> tuple[int | None, str | None]:
    """(enterprise id, office) limiting what the principal may see; 403 for roles that see none.

    An enterprise sees what it lodged and what was lodged in its name (the owners fixed at
    lodging, never the content); office roles see their office, and nothing without one; a
    supervisor with an office sees that office, one without (headquarters) every office.
    """
    reach = rule(principal.role).reach
    if reach is Reach.own:
        return (principal.enterprise_id if principal.enterprise_id is not None else 0), None
    if reach is Reach.national:
        return None, (principal.office if rule(principal.role).office_optional else None)
    if reach is Reach.office:
        if not principal.office:
            raise Forbidden(f"Your {principal.role.value} user has no customs office, so it sees no declarations.", code="no_office")
        return None, principal.office
    raise Forbidden(f"The {principal.role.value} role has no access to declarations.")


def visible(principal: Principal, decl: Declaration) -> bool:
    """Whether the principal may see the declaration."""
    enterprise_id, office = scope(principal)
    if enterprise_id is not None and enterprise_id not in (decl.submitter_enterprise_id, decl.trader_enterprise_id):
        return False
    return office is None or decl.office == office


# Officers, inspectors and image analysts see only the declarations of their tasks. The task area
# sits above this one: it installs the test (session, principal, declaration id) -> bool here.
TaskReach = Callable[[Session, Principal, int], bool]
_task_reach: list[TaskReach] = []


def limit_task_workers(reach: TaskReach) -> None:
    """Install the test of which declarations a task worker (officer, inspector, image analyst) may see."""
    _task_reach[:] = [reach]


def works_on(session: Session, principal: Principal, decl: Declaration) -> bool:
    """Whether a task worker has (or had, when done) a task on the declaration; True for every other role."""
    return principal.role not in TASK_WORKERS or not _task_reach or _task_reach[0](session, principal, decl.id)


def get_visible(session: Session, *, number: str, principal: Principal) -> Declaration:
    """The declaration if the principal may see it; 404 otherwise, exactly as if it did not exist.

    An officer, inspector or image analyst sees only the declarations of their tasks.
    """
    decl = repository.by_number(session, number=number)
    if decl is None or not visible(principal, decl) or not works_on(session, principal, decl):
        raise NotFound(f"No declaration {number}.")
    return decl


def get_own(session: Session, *, number: str, principal: Principal, doing: str) -> Declaration:
    """The declaration if the principal's enterprise lodged it (404 if not visible, 403 for the importer)."""
    if principal.role is not Role.enterprise:
        raise Forbidden(f"Only the declaring enterprise {doing} a declaration.")
    decl = get_visible(session, number=number, principal=principal)
    if decl.submitter_enterprise_id != principal.enterprise_id:
        raise Forbidden(f"Only the declaring enterprise {doing} a declaration; it was lodged in your name by another.")
    return decl
