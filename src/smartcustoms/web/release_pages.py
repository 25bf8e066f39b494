"""The release receipt (printable, with its QR code as inline SVG) and the public check of a receipt, in Chinese and English.

The pages' words are in TEXT, one small dict per language, until they move to the interface catalogue.
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
from smartcustoms.web.deps import authenticate, runtime
from smartcustoms.web.pages import templates as site_templates

router = APIRouter(include_in_schema=False)
# The site's environment without its context processor: that one would set `lang` from the site's cookie over
# the receipt's own choice (?lang=, then the `lang` cookie), and the switch link would point back at the same language.
templates = Jinja2Templates(env=site_templates.env)
LANGS = ("zh", "en")
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "html_lang": "en",
        "receipt": "Release receipt",
        "authority": "China Customs · electronic release",
        "number": "Release number",
        "declaration": "Declaration number",
        "released_at": "Released at",
        "office": "Customs office",
        "port": "Port",
        "declarant": "Declarant",
        "importer": "Importer",
        "exporter": "Exporter",
        "bill_of_lading": "Bill of lading",
        "containers": "Containers",
        "no_containers": "none declared",
        "lines": "Goods lines",
        "scan": "Scan the code, or open the address below, to check that this receipt is genuine.",
        "qr_title": "Check this release receipt",
        "key": "Signature key",
        "print": "Print",
        "other_lang": "中文",
        "check_title": "Release receipt check",
        "valid": "Genuine: customs released these goods.",
        "valid_note": "The receipt's signature holds and matches the release on record.",
        "forged": "FORGED OR ALTERED",
        "forged_note": "This code's signature does not match its content: it was changed or not made by customs. Do not release goods on it.",
        "malformed": "NOT A RELEASE RECEIPT",
        "malformed_note": "This address does not carry a release receipt code. Scan the code on the receipt again.",
        "unknown": "NOT ON RECORD",
        "unknown_note": "The code is signed with the customs key but names no release on record. Ask the customs office.",
        "not_found": "No such release, or not one you may read.",
    },
    "zh": {
        "html_lang": "zh-Hans",
        "receipt": "放行凭证",
        "authority": "中国海关 · 电子放行",
        "number": "放行编号",
        "declaration": "报关单号",
        "released_at": "放行时间",
        "office": "海关关区",
        "port": "口岸",
        "declarant": "申报单位",
        "importer": "进口收货人",
        "exporter": "出口发货人",
        "bill_of_lading": "提运单号",
        "containers": "集装箱号",
        "no_containers": "未申报",
        "lines": "商品项数",
        "scan": "扫描二维码或打开下方网址，核验本凭证的真伪。",
        "qr_title": "核验本放行凭证",
        "key": "签名密钥",
        "print": "打印",
        "other_lang": "English",
        "check_title": "放行凭证核验",
        "valid": "真实有效：海关已放行该批货物。",
        "valid_note": "凭证签名有效，且与海关放行记录一致。",
        "forged": "伪造或被篡改",
        "forged_note": "此码的签名与内容不符：已被改动或并非海关签发。不得凭此放行货物。",
        "malformed": "不是放行凭证码",
        "malformed_note": "此网址不含放行凭证码。请重新扫描凭证上的二维码。",
        "unknown": "无此放行记录",
        "unknown_note": "此码经海关密钥签名，但海关没有对应的放行记录。请向海关查询。",
        "not_found": "没有该放行记录，或您无权查看。",
    },
}
# What a token that does not verify answers through the API: status and stable code.
FAILED = {
    "forged": (422, "release_token_forged", "The token's signature does not match its content: forged or altered."),
    "malformed": (422, "release_token_malformed", "This is not a release token."),
    "unknown": (404, "release_not_on_record", "The token is signed with the customs key but names no release on record."),
}


def language(request: Request) -> str:
    """The page language: ?lang=, the `lang` cookie, the browser's preference between Chinese and English, else Chinese."""
    for chosen in (request.query_params.get("lang"), request.cookies.get("lang")):
        if chosen:
            short = chosen.lower()[:2]
            if short in LANGS:
                return short
    best: tuple[float, str] | None = None
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        short = tag.strip().lower()[:2]
        if short not in LANGS:
            continue
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if best is None or q > best[0]:
            best = (q, short)
    return best[1] if best is not None else "zh"


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
    t = TEXT[lang]
    rt = runtime(request)
    try:
        with rt.read() as s:
            rel, decl = service.get(s, number=number, principal=who)
            facts = _facts(rel, decl)
    except SmartCustomsError as exc:
        ctx = {"t": t, "lang": lang, "message": t["not_found"], "status": exc.status}
        return templates.TemplateResponse(request, "release_missing.html", ctx, status_code=exc.status)
    url = check_url(request, rel.token)
    ctx = {"t": t, "lang": lang, "r": facts, "url": url, "qr": qr_svg(url, t["qr_title"]), "key_id": rt.signer.get().key_id}
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
        t = TEXT[lang]
        status = 200 if found.verdict == "valid" else FAILED[found.verdict][0]
        r = dict(found.release or {})
        if r:
            r["released"] = _stamp(datetime.fromisoformat(r["released_at"].replace("Z", "+00:00")))
        ctx = {"t": t, "lang": lang, "verdict": found.verdict, "r": r, "token": token}
        return templates.TemplateResponse(request, "verify.html", ctx, status_code=status)
    if found.verdict == "valid":
        return JSONResponse({"valid": True, "verdict": "valid", "release": found.release})
    status, code, detail = FAILED[found.verdict]
    body: dict[str, Any] = {"error": "Not a valid release" if status == 422 else "Not found", "code": code, "detail": detail, "errors": []}
    return JSONResponse(body, status_code=status)
