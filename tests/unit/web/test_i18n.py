"""The pages' catalogue: no interface text outside it, every Chinese entry filled, the language chosen as the user asks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from smartcustoms.errors import Problem
from smartcustoms.risk.selectivity import domain
from smartcustoms.web import forms, i18n
from smartcustoms.web.i18n import labels

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "src" / "smartcustoms" / "web"
TEMPLATES = WEB / "templates"
PO = WEB / "i18n" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
# Text a template may hold as it is: the product's name, punctuation, numbers and symbols.
ALLOWED = {"smartcustoms", "u"}  # u: the uniform number of the random draw (u = 0.41)
TEXT_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(*, contexts: bool = False) -> dict[Any, tuple[str, ...]]:
    """msgid -> its translations (with `contexts`: (msgctxt or None, msgid) -> ...)."""
    with PO.open("rb") as f:
        cat = read_po(f, locale="zh_Hans")
    out: dict[Any, tuple[str, ...]] = {}
    for m in cat:
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert not m.fuzzy, f"fuzzy entry: {key!r}"
        out[(m.context, key) if contexts else key] = tuple(strings)
    return out


def _literal_text(source: str) -> list[str]:
    """The words of a template that reach the page without going through the catalogue.

    Each Jinja construct becomes a NUL (its output is a value, or text the catalogue gives); text
    inside `{% trans %}` blocks is the catalogue's. What remains is the template's own HTML: its
    tags are dropped, except the values of the attributes people read (aria-label, title, ...).
    """
    out: list[str] = []
    in_trans = in_block = False
    previous = ""
    for _, kind, value in Environment(autoescape=True, extensions=["jinja2.ext.i18n"]).lex(source):
        if kind == "data":
            out.append("\0" if in_trans else value)
        elif kind == "block_begin":
            in_block = True
        elif kind == "block_end":
            in_block = False
            out.append("\0")
        elif kind == "variable_end":
            out.append("\0")
        elif kind == "name" and in_block and previous == "block_begin":
            in_trans = value == "trans" or (in_trans and value not in ("endtrans",))
            if value == "endtrans":
                in_trans = False
        if kind != "whitespace":
            previous = kind
    text = "".join(out)
    words = [w for v in TEXT_ATTRIBUTES.findall(text) for w in re.findall(r"[^\W\d_][\w'-]*", v)]
    text = re.sub(r"<!--.*?-->|<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words += [w for w in re.findall(r"[^\W\d_][\w'-]*", text) if w not in ALLOWED]
    return words


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_holds_text_outside_the_catalogue(template: str) -> None:
    assert _literal_text((TEMPLATES / template).read_text()) == []


def test_the_literal_text_check_finds_text_in_elements_and_labelling_attributes() -> None:
    found = _literal_text('<h1>Declarations</h1><select aria-label="Status"><option>{{ _("All") }}</option></select> · smartcustoms')
    assert found == ["Status", "Declarations"]
    assert _literal_text('<img alt="Logo"><p>Total {{ n }}</p>') == ["Logo", "Total"]
    assert _literal_text("<p>{{ _('Sign in') }}</p>{% trans %}Hello{% endtrans %}") == []


def test_every_chinese_entry_is_translated_with_the_same_placeholders() -> None:
    catalog = _catalog()
    assert len(catalog) > 200
    empty = sorted(k for k, v in catalog.items() if not all(s.strip() for s in v))
    assert empty == []
    for msgid, strings in catalog.items():
        for s in strings:
            assert sorted(PLACEHOLDER.findall(s)) == sorted(PLACEHOLDER.findall(msgid)), (msgid, s)


def test_every_message_the_pages_use_is_in_the_chinese_catalogue() -> None:
    catalog = _catalog(contexts=True)
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
    found = list(extract_from_dir(str(WEB), method_map, options, keywords=keywords))
    used = {(m[4], m[2] if isinstance(m[2], str) else m[2][0]) for m in found}
    assert len(used) > 200 and ("release receipt", "Bill of lading") in used  # messages in a context are found too
    assert sorted(used - catalog.keys(), key=str) == []


def test_the_traders_view_of_an_assessment_is_all_in_the_catalogue() -> None:
    catalog = _catalog()
    sentences = {message for _, message in domain.LANE_MEANING.values()} | set(domain.TOPICS.values())
    for lane in domain.LANE_MEANING:
        shown = domain.trader_view(lane, [], random=True, errors=True)
        sentences |= set(shown["why"]) | {shown["message"]}
    sentences |= set(domain.trader_view("red", [], random=False, errors=False)["why"])
    assert sentences <= labels.TRADER_SENTENCES | labels.TOPICS
    assert sentences <= catalog.keys()
    assert i18n.gettext("zh-Hans", "No check: the goods can be released on the declared data.") == "无需查验：货物可按申报数据放行。"


def test_every_lodging_rule_of_the_rules_doc_has_a_sentence_for_its_field() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    codes = set(re.findall(r"^\| (DEC-[A-Z]+-\d{3}) \|", text, flags=re.M))
    not_lodging = {"DEC-INT-001", "DEC-DCS-001"} | {c for c in codes if c.startswith("DEC-AMD-")}
    assert sorted(codes - not_lodging - labels.PROBLEMS.keys()) == []


def test_every_status_and_document_type_has_a_label() -> None:
    from smartcustoms.declaration.models import Status
    from smartcustoms.declaration.schemas import DocType

    assert set(labels.STATUSES) == set(labels.STATUS_MEANINGS) == {s.value for s in Status}
    assert set(labels.DOCUMENT_TYPES) == set(DocType.__args__)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,zh;q=0.5,en;q=0.4", "zh-Hans"),
        ("de,fr;q=0.9", "en"),
        ("zh-Hans-CN", "zh-Hans"),
        ("en;q=0.2, zh;q=0.8", "zh-Hans"),
        ("zh;q=0, en;q=0.1", "en"),
        ("garbage;;q=x, zh", "zh-Hans"),
    ],
)
def test_the_browser_language_picks_the_best_supported_one(header: str, lang: str) -> None:
    assert i18n.from_accept_language(header) == lang


def test_the_remembered_choice_wins_over_the_browser_and_unknown_choices_are_ignored() -> None:
    assert i18n.choose(cookie="en", accept_language="zh-CN") == "en"
    assert i18n.choose(cookie="zh-Hans", accept_language="en-US") == "zh-Hans"
    assert i18n.choose(cookie="klingon", accept_language="zh-CN") == "zh-Hans"


def test_plural_forms_and_placeholders_in_both_languages() -> None:
    assert i18n.ngettext("en", "%(count)s declaration", "%(count)s declarations", 1) % {"count": 1} == "1 declaration"
    assert i18n.ngettext("en", "%(count)s declaration", "%(count)s declarations", 2) % {"count": 2} == "2 declarations"
    assert i18n.ngettext("zh-Hans", "%(count)s declaration", "%(count)s declarations", 2) % {"count": 2} == "2 份报关单"


def test_a_form_becomes_the_declaration_its_pointers_describe() -> None:
    fields = [
        ("csrf", "x"),
        ("/client_reference", " REF-1 "),
        ("/importer/uscc", "91120116MA05JB6G5T"),
        ("/items/0/hs_code", "8517130000"),
        ("/items/0/quantity", "12"),
        ("/items/1/hs_code", ""),
        ("/items/2/description", "Manuals"),
        ("/containers/0/seals/0", "S1"),
        ("/documents/0/type", ""),
        ("/a~1b", "slash"),
        ("//empty", "dropped"),
        ("/items/1000/hs_code", "dropped"),
    ]
    assert forms.payload(fields) == {
        "client_reference": "REF-1",
        "importer": {"uscc": "91120116MA05JB6G5T"},
        "items": [{"hs_code": "8517130000", "quantity": "12", "line": 1}, {"line": 2}, {"description": "Manuals", "line": 3}],
        "containers": [{"seals": ["S1"]}],
        "a/b": "slash",
    }


def test_problems_go_to_their_field_or_the_nearest_field_above_else_to_the_list() -> None:
    problems = [
        Problem("DEC-HS-001", "/items/0/hs_code", "bad"),
        Problem("DEC-SCH-001", "/transport/vessel", "missing"),
        Problem("DEC-DOC-001", "/documents", "missing docs"),
        Problem("DEC-SCH-001", "/items/0/hs_code/x", "deeper"),
    ]
    by_field, rest = forms.at_fields(problems, ["/items/0/hs_code", "/transport/vessel"])
    assert {k: [p.message for p in v] for k, v in by_field.items()} == {
        "/items/0/hs_code": ["bad", "deeper"],
        "/transport/vessel": ["missing"],
    }
    assert [p.code for p in rest] == ["DEC-DOC-001"]


def test_the_reasons_the_system_writes_on_events_are_translated_and_peoples_own_are_kept() -> None:
    zh = "zh-Hans"
    assert labels.event_reason(zh, "declaration.accepted", "All intake checks passed.") == "电子审核全部通过。"
    advance = "All intake checks passed. Advance declaration: goods not yet arrived."
    assert labels.event_reason(zh, "declaration.accepted", advance) == "电子审核全部通过。提前申报：货物尚未抵达。"
    lane = "Lane red: " + domain.LANE_MEANING["red"][1]
    assert labels.event_reason(zh, "declaration.assessed", lane) == "红色通道：放行前将对货物进行查验（人工或 X 光机检）。"
    assert labels.event_reason(zh, "declaration.document_added", "invoice: 发票.pdf") == "发票: 发票.pdf"
    assert labels.event_reason(zh, "declaration.withdrawn", "Goods sold on: invoice") == "Goods sold on: invoice"
    assert labels.event_reason(zh, "declaration.document_added", "passport: x.pdf") == "passport: x.pdf"
    assert labels.event_reason("en", "declaration.assessed", lane) == lane
