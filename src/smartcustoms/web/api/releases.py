"""Routes for releases: a release by its number (owners, the gate, officials of the office) and the public signing key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from smartcustoms.release import service
from smartcustoms.release.schemas import ReleaseRead, SigningKeyRead
from smartcustoms.web.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/releases", tags=["release"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    404: {"description": "No such release, or not one the caller may read"},
}


@router.get("/signing-key", response_model=SigningKeyRead)
def signing_key(rt: RuntimeDep) -> SigningKeyRead:
    """The public key release tokens are signed with (no sign-in needed): anyone may check a receipt offline with it."""
    signer = rt.signer.get()
    return SigningKeyRead(algorithm="Ed25519", key_id=signer.key_id, public_key=signer.public_raw(), pem=signer.public_pem())


@router.get("/{number}", response_model=ReleaseRead, responses=ERRORS)
def get_release(rt: RuntimeDep, who: PrincipalDep, number: str) -> ReleaseRead:
    """A release: the enterprises owning the declaration, the gate and officials of its office, national roles; others 404."""
    with rt.read() as s:
        rel, decl = service.get(s, number=number, principal=who)
        return ReleaseRead(**service.view(rel, decl))
