"""Words the pages show for values that come from data (statuses, lanes, document types, events,
the trader's view of an assessment, problem codes), marked for the catalogue.

Each English text here is the msgid; `tests/unit/web/test_i18n.py` checks that the domain's own
sentences (the lane meanings and topics) are all here and translated.
"""

from __future__ import annotations

import re

from smartcustoms.web import i18n
from smartcustoms.web.i18n import N_

STATUSES = {
    "lodged": N_("lodged"),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
    "assessed": N_("assessed"),
    "under_review": N_("under review"),
    "under_inspection": N_("under inspection"),
    "duty_assessed": N_("duty assessed"),
    "released": N_("released"),
    "held": N_("held"),
    "withdrawn": N_("withdrawn"),
}
# What a status means to the trader, in plain words.
STATUS_MEANINGS = {
    "lodged": N_("Customs has received the declaration and is checking it."),
    "accepted": N_("The declaration passed its checks and waits for the risk assessment."),
    "rejected": N_("Customs refused the declaration; the history below gives the reason."),
    "assessed": N_("The risk assessment is done; the lane below says what happens next."),
    "under_review": N_("An officer is reviewing the declaration and its documents."),
    "under_inspection": N_("The goods are being inspected."),
    "duty_assessed": N_("The duties are calculated and wait for payment or a guarantee."),
    "released": N_("The goods are released: they may leave customs control."),
    "held": N_("The goods are held; the history below gives the reason."),
    "withdrawn": N_("The declaration was withdrawn and no longer applies."),
}
LANES = {"green": N_("green lane"), "blue": N_("blue lane"), "yellow": N_("yellow lane"), "red": N_("red lane")}
ROLES = {
    "enterprise": N_("enterprise"),
    "officer": N_("officer"),
    "inspector": N_("inspector"),
    "image_analyst": N_("image analyst"),
    "analyst": N_("analyst"),
    "supervisor": N_("supervisor"),
    "gate": N_("gate"),
    "agency": N_("agency"),
    "admin": N_("admin"),
    "system": N_("system"),
}
MODES = {
    "sea": N_("sea"),
    "air": N_("air"),
    "rail": N_("rail"),
    "road": N_("road"),
    "post": N_("post"),
    "multimodal": N_("multimodal"),
}
KINDS = {"import": N_("import"), "export": N_("export")}
PROCEDURES = {
    "general": N_("general"),
    "processing_trade": N_("processing trade"),
    "bonded": N_("bonded"),
    "transit": N_("transit"),
    "ecommerce": N_("e-commerce"),
}
DOCUMENT_TYPES = {
    "invoice": N_("invoice"),
    "packing_list": N_("packing list"),
    "bill_of_lading": N_("bill of lading"),
    "air_waybill": N_("air waybill"),
    "rail_waybill": N_("rail waybill"),
    "road_waybill": N_("road waybill"),
    "licence": N_("licence"),
    "certificate_of_origin": N_("certificate of origin"),
    "contract": N_("contract"),
    "processing_manual": N_("processing manual"),
    "warehouse_receipt": N_("warehouse receipt"),
    "transit_document": N_("transit document"),
    "ecommerce_order": N_("e-commerce order"),
    "inspection_certificate": N_("inspection certificate"),
    "other": N_("other"),
}
EVENTS = {
    **STATUSES,
    "amended": N_("amended"),
    "document_added": N_("document added"),
    "reassessed": N_("reassessed"),
}
# The trader's view of an assessment (risk.selectivity.domain.LANE_MEANING, TOPICS and trader_view).
TRADER_SENTENCES = {
    N_("No check: the goods can be released on the declared data."),
    N_("The goods can be released; the declaration may be audited after clearance."),
    N_("An officer will review the declaration and its documents before release."),
    N_("The goods will be inspected (physically or by X-ray) before release."),
    N_("Part of the declarations is chosen at random for checks; this one was chosen."),
    N_("Some of the declared data needs an officer's look."),
    N_("The declaration was selected by customs risk management."),
}
TOPICS = {
    N_("the declared value"),
    N_("the tariff classification of the goods"),
    N_("the origin of the goods"),
    N_("the quantities and weights"),
    N_("the supporting documents"),
    N_("the licences the goods need"),
    N_("whether the goods may be imported"),
}
OFFICER_LOOKS_AT = N_("The officer will look at %(topics)s.")
# One sentence per problem code, shown at the field in the trader's language (the English message,
# more precise, stays for English).
PROBLEMS = {
    "DEC-SCH-001": N_("This field is required."),
    "DEC-SCH-002": N_("This field does not belong on this declaration; remove it."),
    "DEC-SCH-003": N_("This field has the wrong type."),
    "DEC-SCH-004": N_("Too long, or too many entries."),
    "DEC-SCH-005": N_("Not one of the allowed values."),
    "DEC-SCH-006": N_("This must not be empty."),
    "DEC-SCH-007": N_("The number is out of range."),
    "DEC-SCH-008": N_("The text holds a control character."),
    "DEC-SCH-009": N_("The text holds an invisible or direction-changing character."),
    "DEC-HS-001": N_("An HS code has 6, 8 or 10 digits."),
    "DEC-HS-002": N_("No such HS code is in force on the day."),
    "DEC-PTY-001": N_("The USCC's check character is wrong; compare it with the business licence."),
    "DEC-PTY-002": N_("Not an 18-character unified social credit code."),
    "DEC-PTY-003": N_("Your enterprise is not the declarant named in the declaration."),
    "DEC-MND-001": N_("This enterprise is not registered with customs."),
    "DEC-MND-002": N_("No mandate in force lets you declare in this enterprise's name."),
    "DEC-CTR-001": N_("Not an ISO 6346 container number, or its check digit is wrong."),
    "DEC-CTR-002": N_("This container is listed twice."),
    "DEC-TRN-001": N_("Not a valid IMO ship number."),
    "DEC-TRN-002": N_("A sea consignment needs the vessel's name."),
    "DEC-REF-001": N_("Unknown country code (ISO 3166)."),
    "DEC-REF-002": N_("Unknown currency code (ISO 4217)."),
    "DEC-REF-003": N_("Unknown unit of measure."),
    "DEC-REF-004": N_("Unknown port (UN/LOCODE)."),
    "DEC-REF-005": N_("Unknown customs office."),
    "DEC-REF-006": N_("Unknown Incoterm."),
    "DEC-REF-007": N_("Unknown transport mode."),
    "DEC-NUM-001": N_('Write a decimal number, like "1200.50".'),
    "DEC-NUM-002": N_("The number must be greater than zero."),
    "DEC-NUM-003": N_("Too many decimal places."),
    "DEC-NUM-004": N_("The number is implausibly large."),
    "DEC-MAS-001": N_("The net mass is above the gross mass."),
    "DEC-ITM-001": N_("This item line number is used twice."),
    "DEC-ITM-002": N_("Two items have the same HS code, description and origin."),
    "DEC-DOC-001": N_("Documents the procedure requires are missing."),
    "DEC-DOC-002": N_("This document is listed twice."),
    "DEC-DAT-001": N_("The arrival date is before the departure date."),
    "DEC-DAT-002": N_("The date is too far ahead or too long ago."),
    "DEC-DAT-003": N_("Write a real date as YYYY-MM-DD."),
    "DEC-DAT-004": N_("The document is dated after today."),
    "DEC-IDM-001": N_("This client reference was already used for a different declaration."),
    "REQ-JSON-001": N_("The file is not valid JSON in UTF-8."),
    "REQ-JSON-002": N_("A key appears twice in one object."),
    "REQ-JSON-003": N_("NaN, Infinity or a number too large is not allowed."),
    "REQ-JSON-004": N_("A lone UTF-16 surrogate is not allowed."),
    "REQ-JSON-006": N_("Objects and lists are nested too deep."),
}

# The reasons the system writes on a declaration's events (people's own reasons are shown as written).
INTAKE_PASSED = N_("All intake checks passed.")
ADVANCE = N_("Advance declaration: goods not yet arrived.")
LANE_REASON = N_("%(lane)s: %(meaning)s")
_LANE_REASON = re.compile(r"Lane (green|blue|yellow|red): (.+)")
_DOCUMENT_REASON = re.compile(r"([a-z_]+): (.+)", re.S)


def event_reason(lang: str, event: str, reason: str) -> str:
    """An event's reason in the language when the system wrote it; as written otherwise."""
    if lang == i18n.DEFAULT:
        return reason
    if event == "declaration.accepted" and reason.startswith(INTAKE_PASSED):
        rest = reason.removeprefix(INTAKE_PASSED).strip()
        return i18n.gettext(lang, INTAKE_PASSED) + (i18n.gettext(lang, ADVANCE) if rest == ADVANCE else rest)
    lane = _LANE_REASON.fullmatch(reason)
    if lane and lane.group(2) in TRADER_SENTENCES:
        words = {"lane": i18n.gettext(lang, LANES[lane.group(1)]), "meaning": i18n.gettext(lang, lane.group(2))}
        return i18n.gettext(lang, LANE_REASON) % words
    document = _DOCUMENT_REASON.fullmatch(reason) if event == "declaration.document_added" else None
    if document and document.group(1) in DOCUMENT_TYPES:
        return i18n.gettext(lang, DOCUMENT_TYPES[document.group(1)]) + ": " + document.group(2)
    return reason


# The officers' desk (web/desk_pages.py, web/office_pages.py): tasks, decisions and the roster.
TASK_KINDS = {
    "review": N_("document review"),
    "inspection": N_("physical inspection"),
    "image_review": N_("X-ray image review"),
    "audit": N_("post-clearance audit"),
}
TASK_STATUSES = {"open": N_("to do"), "waiting": N_("waiting"), "done": N_("done")}
DECISIONS = {
    "accept": N_("Accept: the declaration passes review"),
    "query": N_("Query: ask the enterprise a question"),
    "inspect": N_("Inspect: send the goods to inspection"),
    "reject": N_("Reject the declaration"),
}
DUTIES = {"on": N_("on duty"), "off": N_("off duty")}
PROBLEMS |= {
    "REV-DEC-001": N_("Choose a decision."),
    "REV-DEC-002": N_("Give a reason of 3 to 500 characters."),
    "REV-DEC-003": N_("A query asks a question of 3 to 2000 characters."),
    "REV-DEC-004": N_("Only a query asks a question; clear the question or choose query."),
    "TSK-RSN-001": N_("Give a reason of 3 to 500 characters."),
    "REV-ANS-001": N_("Write an answer (up to 2000 characters)."),
    "REV-ANS-002": N_("The document is not one of this declaration's."),
    "ROS-CHP-001": N_("Name at least one HS chapter or range, like 84-85,90."),
    "ROS-CHP-002": N_("Write HS chapters as numbers and ranges from 01 to 97, like 84-85,90."),
    "ROS-CHP-003": N_("A chapter is not an HS chapter (01-97)."),
    "ROS-CHP-004": N_("A range runs backwards; write the smaller chapter first."),
    "ROS-CAP-001": N_("The capacity is a whole number from 1 to 1000."),
    "ROS-DUTY-001": N_("Duty is on or off."),
    "ROS-OFF-001": N_("Only officers, inspectors and image analysts are on the roster."),
    "ROS-OFF-002": N_("This officer has no office yet."),
}
