"""The release receipt (printable, with its QR code as inline SVG) and the public check of a receipt, in Chinese and English.

The pages' words are in the interface catalogue (web/i18n), as every page's; the few the receipt words
differently from the other pages (importer, exporter, bill of lading) have the msgctxt "release receipt".
The language: `?lang=zh|en`, else the `lang` cookie, else the browser's Accept-Language (Chinese if it
prefers Chinese to English), else Chinese.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import SmartCustomsError, Unauthorized
from smartcustoms.release import service
from smartcustoms.release.models import Release
from smartcustoms.web import i18n
from smartcustoms.web.deps import authenticate, runtime
from smartcustoms.web.i18n import N_
from smartcustoms.web.pages import templates as site_templates

router = APIRouter(include_in_schema=False)
# The site's environment without its context processor: that one would set `lang` from the site's cookie over
# the receipt's own choice (?lang=, then the `lang` cookie), and the switch link would point back at the same language.
templates = Jinja2Templates(env=site_templates.env)
# The page's language (the catalogue's tag) for each short form `?lang=` and the `lang` cookie take.
TAGS = {"zh": "zh-Hans", "en": "en"}
# The switch to the other language, named in that language (not interface text: no catalogue entry).
OTHER = {"zh-Hans": "English", "en": "中文"}
QR_TITLE = N_("Check this release receipt")
# What a token that does not verify answers through the API: status and stable code.
FAILED = {
    "forged": (422, "release_token_forged", "The token's signature does not match its content: forged or altered."),
    "malformed": (422, "release_token_malformed", "This is not a release token."),
    "unknown": (404, "release_not_on_record", "The token is signed with the customs key but names no release on record."),
}


def language(request: Request) -> str:
    """The page language (the catalogue's tag): ?lang=, the `lang` cookie, the browser's preference between Chinese
    and English, else Chinese."""
    for chosen in (request.query_params.get("lang"), request.cookies.get("lang")):
        if chosen:
            short = chosen.lower()[:2]
            if short in TAGS:
                return TAGS[short]
    best: tuple[float, str] | None = None
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        short = tag.strip().lower()[:2]
        if short not in TAGS:
            continue
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if best is None or q > best[0]:
            best = (q, TAGS[short])
    return best[1] if best is not None else TAGS["zh"]


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def qr_svg(url: str, title: str) -> Markup:
    """The QR code of an address as an inline SVG element (no script, no style attribute: fits the CSP)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=4, svgclass="qr", lineclass=None, omitsize=True, title=title, dark="#000"))  # noqa: S704 - segno's own SVG


def check_url(request: Request, token: str) -> str:
    """The absolute address of a token's public check (SMARTCUSTOMS_PUBLIC_URL, else this request's)."""
    base = runtime(request).settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/verify/{token}"


def _facts(rel: Release, decl: Declaration) -> dict[str, Any]:
    p = decl.payload
    trader = p.get("importer") or p.get("exporter") or {}
    return {
        **service.view(rel, decl),
        "released": _stamp(rel.released_at),
        "declarant": f"{(p.get('declarant') or {}).get('name', '')} ({decl.declarant_uscc})",
        "trader_role": "importer" if decl.kind == "import" else "exporter",
        "trader": f"{trader.get('name', '')} ({decl.trader_uscc})",
        "bill_of_lading": (p.get("transport") or {}).get("bill_of_lading") or "",
        "lines": decl.item_count,
    }


def _who(request: Request) -> Principal | None:
    try:
        return authenticate(request)
    except Unauthorized:
        return None


@router.get("/releases/{number}", response_class=HTMLResponse)
def receipt(request: Request, number: str) -> Response:
    """The printable release receipt with its QR code: for whoever may read the release (sign-in needed)."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    lang = language(request)
    rt = runtime(request)
    try:
        with rt.read() as s:
            rel, decl = service.get(s, number=number, principal=who)
            facts = _facts(rel, decl)
    except SmartCustomsError as exc:
        ctx = {"lang": lang, "other": OTHER[lang], "status": exc.status}
        return templates.TemplateResponse(request, "release_missing.html", ctx, status_code=exc.status)
    url = check_url(request, rel.token)
    qr = qr_svg(url, i18n.gettext(lang, QR_TITLE))
    ctx = {"lang": lang, "other": OTHER[lang], "r": facts, "url": url, "qr": qr, "key_id": rt.signer.get().key_id}
    return templates.TemplateResponse(request, "release.html", ctx)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


@router.get("/verify/{token}", response_model=None)
def verify(request: Request, token: str) -> Response:
    """Anyone (no sign-in) checks a receipt's token: valid and what was released, or forged/altered, not a token, not on record.

    A page for a browser (Accept: text/html), JSON otherwise: 200 for a valid token; 422 forged or
    malformed, 404 signed but not on record, with the usual error body.
    """
    with runtime(request).read() as s:
        found = service.verify(s, token=token)
    if _wants_html(request):
        lang = language(request)
        status = 200 if found.verdict == "valid" else FAILED[found.verdict][0]
        r = dict(found.release or {})
        if r:
            r["released"] = _stamp(datetime.fromisoformat(r["released_at"].replace("Z", "+00:00")))
        ctx = {"lang": lang, "other": OTHER[lang], "verdict": found.verdict, "r": r, "token": token}
        return templates.TemplateResponse(request, "verify.html", ctx, status_code=status)
    if found.verdict == "valid":
        return JSONResponse({"valid": True, "verdict": "valid", "release": found.release})
    status, code, detail = FAILED[found.verdict]
    body: dict[str, Any] = {"error": "Not a valid release" if status == 422 else "Not found", "code": code, "detail": detail, "errors": []}
    return JSONResponse(body, status_code=status)
