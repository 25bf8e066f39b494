"""Roster use cases: officers' qualifications, caps and duty; assigning work by the sunshine draw; releasing it."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role, User
from smartcustoms.auth.roles import SUPERVISORS, supervised_office
from smartcustoms.auth.service import Principal
from smartcustoms.errors import NotFound, Problem, ValidationFailed
from smartcustoms.roster import domain, repository
from smartcustoms.roster.models import ROSTER_ROLES, Duty, OfficerProfile
from smartcustoms.roster.repository import OfficerRow
from smartcustoms.roster.schemas import OfficerRead

DISPATCH = Actor.system("dispatch")
DEFAULT_CAPACITY = 10
ROSTER_KEEPERS = tuple(sorted(SUPERVISORS))  # who may read and change the roster: those who supervise (auth.roles)
load_of = repository.load_of  # the one definition of an officer's load: their open assignments


def scope(principal: Principal) -> str | None:
    """The office a principal may keep the roster of (None: every office); 403 for other roles.

    A supervisor keeps their own office's roster only; one without an office works at headquarters
    and keeps every office's, as they see every office's tasks (`auth.roles.supervised_office`).
    """
    principal.require(*ROSTER_KEEPERS)
    return supervised_office(principal.role, principal.office)


def _read(row: OfficerRow) -> OfficerRead:
    spare = max((row.capacity or 0) - row.load, 0) if row.duty is Duty.on and row.active else 0  # what a draw may give them
    return OfficerRead(
        name=row.name,
        role=row.role,
        office=row.office,
        active=row.active,
        chapters=row.chapters,
        capacity=row.capacity,
        duty=row.duty,
        load=row.load,
        spare=spare,
    )


def list_officers(session: Session, *, office: str | None = None, within: str | None = None) -> list[OfficerRead]:
    """Officers, inspectors and image analysts (by name), of one office if given; `within` limits to the caller's office."""
    if within is not None and office is not None and office != within:
        return []
    return [_read(r) for r in repository.officers(session, office=within if within is not None else office)]


def get_officer(session: Session, *, name: str, within: str | None = None) -> OfficerRead:
    """One officer; 404 when there is none by that name, or they are outside the caller's office."""
    rows = repository.officers(session, name=name)
    if not rows or (within is not None and rows[0].office != within):
        raise NotFound(f"No officer named {name!r}.", code="officer_not_found")
    return _read(rows[0])


def _officer_user(session: Session, name: str, within: str | None) -> User:
    user = repository.user_named(session, name, lock=True)
    if user is None or (within is not None and user.office_code != within):
        raise NotFound(f"No officer named {name!r}.", code="officer_not_found")
    problems = []
    if user.role not in ROSTER_ROLES:
        roles = ", ".join(r.value for r in ROSTER_ROLES)
        problems.append(Problem("ROS-OFF-001", "/name", f"{name} is a {user.role.value}; the roster holds {roles} users only."))
    elif not user.office_code:
        problems.append(Problem("ROS-OFF-002", "/name", f"{name} has no office; give them one first (user add --office)."))
    if problems:
        raise ValidationFailed(f"{name} cannot be put on the roster.", problems)
    return user


def set_officer(
    session: Session,
    *,
    name: str,
    chapters: str | None = None,
    capacity: int | None = None,
    duty: str | None = None,
    within: str | None = None,
    actor: Actor,
    now: datetime,
) -> OfficerRead:
    """Set an officer's qualifications, cap or duty (what is not given stays); the first time puts them on the roster.

    On the roster for the first time: every chapter (01-97), a cap of DEFAULT_CAPACITY, on duty,
    unless given. Every problem of the input is listed at once; journaled with before and after.
    """
    user = _officer_user(session, name, within)
    problems: list[Problem] = []
    parsed = None
    if chapters is not None:
        parsed, found = domain.chapter_problems(chapters)
        problems += found
    if capacity is not None:
        problems += domain.capacity_problems(capacity)
    if duty is not None:
        problems += domain.duty_problems(duty)
    if problems:
        raise ValidationFailed(f"The roster entry of {name} cannot be set.", problems)
    prof = repository.profile(session, user.id)
    before = None if prof is None else {"chapters": prof.chapters, "capacity": prof.capacity, "duty": prof.duty.value}
    if prof is None:
        every = domain.chapters_of(domain.ALL_CHAPTERS)
        prof = OfficerProfile(
            user_id=user.id,
            chapters=domain.ALL_CHAPTERS,
            chapter_mask=domain.chapter_mask(every),
            capacity=DEFAULT_CAPACITY,
            duty=Duty.on,
            updated_at=now,
        )
        session.add(prof)
    if parsed is not None:
        prof.chapters = parsed.spec
        prof.chapter_mask = domain.chapter_mask(parsed.chapters)
    if capacity is not None:
        prof.capacity = capacity
    if duty is not None:
        prof.duty = Duty(duty)
    prof.updated_at = now
    session.flush()
    after = {"chapters": prof.chapters, "capacity": prof.capacity, "duty": prof.duty.value}
    if after != before:
        record(
            session,
            actor=actor,
            action="officer.added" if before is None else "officer.changed",
            subject_type="officer",
            subject_id=str(user.id),
            now=now,
            before=before,
            after={"name": name, "office": user.office_code, **after},
        )
    return get_officer(session, name=name)


# --- assignment by draw ---------------------------------------------------------------------------


def _secret(session: Session, office: str, seed: int | None, *, actor: Actor, now: datetime) -> tuple[bytes, str]:
    """The office's dispatch seed as an HMAC key, and its public fingerprint; made at the office's first draw."""
    if seed is None:
        seed = secrets.randbits(62)
        if repository.insert_seed(session, office=office, seed=seed, now=now):
            record(
                session,
                actor=actor,
                action="roster.seed_created",
                subject_type="office",
                subject_id=office,
                now=now,
                after={"seed_ref": domain.seed_fingerprint(seed)},
            )
        else:
            seed = repository.seed_of(session, office)
            assert seed is not None
    return domain.seed_bytes(seed), domain.seed_fingerprint(seed)


def _assign_problems(office: str, chapters: Collection[int], task_ref: str, k: int) -> list[Problem]:
    problems = domain.task_chapter_problems(chapters)
    if not office or len(office) > 8:
        problems.append(Problem("ROS-TSK-001", "/office", "A task needs the office it is worked at (a code of up to 8 characters)."))
    if not task_ref or len(task_ref) > 60:
        problems.append(Problem("ROS-TSK-002", "/task_ref", "A task reference has 1 to 60 characters."))
    if not 1 <= k <= domain.MAX_DRAWN:
        problems.append(Problem("ROS-TSK-003", "/k", f"A draw chooses 1 to {domain.MAX_DRAWN} officers."))
    return problems


def assign(
    session: Session,
    *,
    office: str,
    chapters: Collection[int],
    task_ref: str,
    k: int = 1,
    exclude: Collection[str] = (),
    roles: Sequence[Role] = ROSTER_ROLES,
    actor: Actor = DISPATCH,
    now: datetime,
) -> dict[str, Any] | None:
    """Draw k officers for a task and give it to them; the draw record, or None when too few are free (queue the task).

    Among the office's on-duty officers in `roles` qualified for every chapter of the task and
    under their cap, each is drawn with a weight of their spare capacity (cap - open tasks); k=2
    draws two distinct ones. The uniform numbers come from the office's secret seed and the seed
    reference `<task_ref>/<assignments the task has had>`, so each new draw of a task (a
    reassignment excludes the holder) gets its own. One draw at a time per office (an advisory
    lock on PostgreSQL; SQLite's single writer), so two concurrent assignments cannot push an
    officer past their cap. Journaled with the whole record.
    """
    problems = _assign_problems(office, chapters, task_ref, k)
    if problems:
        raise ValidationFailed("The task cannot be drawn.", problems)
    need = frozenset(chapters)
    seed, earlier = repository.lock_office(session, office=office, task_ref=task_ref)
    ids: dict[str, int] = {}
    candidates = []
    for row in repository.pool(session, office=office, roles=roles, chapters=need):  # qualified and under their caps
        ids[row.name] = row.user_id
        candidates.append(domain.Candidate(row.name, row.capacity - row.load))
    secret, fingerprint = _secret(session, office, seed, actor=actor, now=now)
    seed_ref = f"{task_ref}/{earlier}"
    drawn = domain.draw(candidates, seed_ref, secret=secret, k=k, exclude=exclude)
    if drawn is None:
        return None
    drawn["seed"] = fingerprint
    repository.add_assignments(
        session, [{"user_id": ids[n], "task_ref": task_ref, "office": office, "assigned_at": now} for n in drawn["chosen"]]
    )
    record(
        session,
        actor=actor,
        action="roster.assigned",
        subject_type="task",
        subject_id=task_ref,
        now=now,
        after={"office": office, "chapters": sorted(need), **drawn},
    )
    return drawn


def release(
    session: Session, *, task_ref: str, names: Collection[str] | None = None, actor: Actor, now: datetime, reason: str | None = None
) -> int:
    """Release a task's open assignments (of the named officers only, if given): their load drops. Returns how many."""
    open_rows = repository.open_assignments(session, task_ref=task_ref)
    who = repository.names_of(session, {a.user_id for a in open_rows})
    chosen = [a for a in open_rows if names is None or who[a.user_id] in names]
    if not chosen:
        return 0
    repository.close(session, chosen, at=now)
    record(
        session,
        actor=actor,
        action="roster.released",
        subject_type="task",
        subject_id=task_ref,
        now=now,
        after={"released": sorted(who[a.user_id] for a in chosen)},
        reason=reason,
    )
    return len(chosen)


def holders(session: Session, *, task_ref: str) -> list[str]:
    """The names of the officers holding a task now, in the order they were drawn."""
    open_rows = repository.open_assignments(session, task_ref=task_ref)
    who = repository.names_of(session, {a.user_id for a in open_rows})
    return [who[a.user_id] for a in open_rows]


def holders_of(session: Session, *, task_refs: Collection[str]) -> dict[str, list[str]]:
    """The names of the officers holding each of these tasks now (in the order drawn), in one query; tasks held by nobody left out."""
    open_rows = repository.open_assignments_of(session, task_refs=task_refs)
    who = repository.names_of(session, {a.user_id for a in open_rows})
    found: dict[str, list[str]] = {}
    for a in open_rows:
        found.setdefault(a.task_ref, []).append(who[a.user_id])
    return found


def verify(session: Session, *, office: str, draw_record: Mapping[str, Any]) -> bool:
    """Whether a stored draw record is what the office's seed gives for its seed reference, and replays to its choice."""
    seed = repository.seed_of(session, office)
    return seed is not None and domain.verify(draw_record, secret=domain.seed_bytes(seed))
