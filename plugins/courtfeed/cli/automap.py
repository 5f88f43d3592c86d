"""`courtfeed automap FILE`: propose a starting template from a sample file's headers and values.

Each header is matched to a target field by known aliases (DEF_FNAME, First Name, FNAME ...)
and then by fuzzy similarity, with a confidence; types are guessed from the values. What does
not match is listed, so the engineer finishes the template by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

from courtfeed.config.fields import NATURAL_KEYS, all_target_fields

if TYPE_CHECKING:
    from courtfeed.readers.base import FileReader

# Normalised alias -> target field. Normalised = lower case, letters and digits only.
ALIASES: dict[str, list[str]] = {
    "client.reference": [
        "defid",
        "defendantid",
        "clientid",
        "personid",
        "partyid",
        "jurornumber",
        "jurorid",
        "juror",
        "defendantnumber",
        "spn",
        "bookingnumber",
        "inmatenumber",
        "clientnumber",
    ],
    "client.first_name": ["firstname", "fname", "deffname", "first", "givenname", "deffirstname"],
    "client.middle_name": ["middlename", "mname", "middle", "defmname"],
    "client.last_name": ["lastname", "lname", "deflname", "last", "surname", "familyname", "deflastname"],
    "client.suffix": ["suffix", "namesuffix"],
    "client.full_name": [
        "name",
        "fullname",
        "defendantname",
        "defname",
        "clientname",
        "partyname",
        "jurorname",
    ],
    "client.dob": ["dob", "dateofbirth", "birthdate", "birthdt", "defdob"],
    "client.phone": [
        "phone",
        "phonenumber",
        "mobile",
        "cell",
        "cellphone",
        "telephone",
        "mobilephone",
        "defphone",
        "homephone",
        "contactphone",
    ],
    "client.email": ["email", "emailaddress", "mail", "defemail"],
    "client.language": ["language", "lang", "preferredlanguage", "interpreterlanguage"],
    "client.address_line1": ["address", "address1", "addressline1", "street", "streetaddress"],
    "client.address_line2": ["address2", "addressline2", "apt", "unit"],
    "client.city": ["city", "town"],
    "client.state": ["state", "st", "province"],
    "client.postal_code": ["zip", "zipcode", "postalcode", "postcode"],
    "client.type": ["clienttype", "partytype", "role"],
    "case.number": ["caseno", "casenumber", "casenum", "caseid", "docket", "docketnumber", "causenumber"],
    "case.type": ["casetype"],
    "case.status": ["casestatus"],
    "case.court": ["court", "courtname", "division"],
    "case.filed_date": ["fileddate", "filedate", "datefiled"],
    "case.charges": ["charge", "charges", "offense", "offence", "chargedesc"],
    "event.reference": ["hearingid", "eventid", "appointmentid", "settingid", "hearingnumber"],
    "event.date": [
        "hearingdate",
        "eventdate",
        "courtdate",
        "date",
        "reportdate",
        "appearancedate",
        "settingdate",
    ],
    "event.time": ["hearingtime", "eventtime", "courttime", "time", "reporttime", "appearancetime"],
    "event.starts_at": ["hearingdatetime", "startsat", "datetime", "eventdatetime"],
    "event.location": ["courtroom", "location", "room", "courtlocation", "venue", "dept", "department"],
    "event.judge": ["judge", "judgename", "judicialofficer", "hearingjudge"],
    "event.type": ["hearingtype", "eventtype", "appearancetype", "settingtype"],
    "event.status": ["status", "hearingstatus", "eventstatus"],
    "event.virtual_url": ["zoomlink", "virtualurl", "meetinglink", "url", "link"],
    "payment.reference": ["paymentid", "paymentnumber", "receiptnumber", "invoiceid", "obligationid"],
    "payment.amount": ["amount", "amountdue", "fine", "fineamount", "totaldue", "paymentamount"],
    "payment.balance": ["balance", "balancedue", "remaining", "outstanding"],
    "payment.due_date": ["duedate", "paymentduedate", "datedue"],
    "payment.paid_date": ["paiddate", "datepaid", "paymentdate"],
    "payment.status": ["paymentstatus"],
    "payment.description": ["notes", "description", "memo", "comment", "comments"],
}
_ALIAS_INDEX = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
MIN_CONFIDENCE = 0.75
MAX_TITLE_ROWS = 5  # rows above the header tried when looking for it
SAMPLE_ROWS = 500  # data rows whose values guess each column's type


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class Proposal:
    column: str
    field: str | None
    confidence: float
    type: str | None = None
    format: str | None = None


def match_header(header: str) -> tuple[str | None, float]:
    """The target field a header most likely means, and how sure we are (0..1)."""
    key = normalise(header)
    if not key:
        return None, 0.0
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key], 1.0
    best, score = None, 0.0
    for alias, field in _ALIAS_INDEX.items():
        s = SequenceMatcher(None, key, alias).ratio()
        if s > score:
            best, score = field, s
    for field in all_target_fields():
        s = SequenceMatcher(None, key, normalise(field.split(".", 1)[1])).ratio()
        if s > score:
            best, score = field, s
    return (best, round(score, 2)) if score >= MIN_CONFIDENCE else (None, round(score, 2))


_DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%d-%b-%Y"]
_TIME_FORMATS = ["%I:%M %p", "%H:%M", "%H:%M:%S", "%I:%M%p"]


def guess_type(values: list[str]) -> tuple[str | None, str | None]:
    """(type, format) that every non-blank sample value satisfies, or (None, None) for text."""
    from datetime import datetime

    sample = [v.strip() for v in values if v and v.strip()][:200]
    if not sample:
        return None, None

    def all_parse(fmt: str) -> bool:
        try:
            for v in sample:
                datetime.strptime(v, fmt)
            return True
        except ValueError:
            return False

    if all(re.fullmatch(r"\d{4}-\d{2}-\d{2}(T00:00:00)?", v) for v in sample):
        return "date", None
    for fmt in _DATE_FORMATS:
        if all_parse(fmt):
            return "date", fmt
    for fmt in _TIME_FORMATS:
        if all_parse(fmt):
            return "time", fmt
    if all(re.fullmatch(r"\(?-?\$-?[\d,]+(\.\d+)?\)?", v) for v in sample):
        return "money", None
    if all("@" in v and "." in v.split("@")[-1] for v in sample):
        return "email", None
    if all(7 <= len(re.sub(r"\D", "", v)) <= 15 and re.fullmatch(r"[\d\s().+\-]+", v) for v in sample):
        return "phone", None
    return None, None


# Headers that name a field any entity may have: they belong to the file's main entity.
GENERIC = {"status", "type", "notes", "description", "judge", "date"}


def _prefer_dominant_entity(proposals: list[Proposal]) -> None:
    from collections import Counter

    from courtfeed.config.fields import field_kind

    entities = Counter(
        p.field.split(".")[0] for p in proposals if p.field and p.field.split(".")[0] != "client"
    )
    if not entities:
        return
    main = entities.most_common(1)[0][0]
    taken = {p.field for p in proposals if p.field}
    for p in proposals:
        if not p.field:
            continue
        entity, name = p.field.split(".", 1)
        generic = normalise(p.column) in GENERIC or name in GENERIC
        if generic and entity != main and field_kind(main, name) and f"{main}.{name}" not in taken:
            taken.discard(p.field)
            p.field = f"{main}.{name}"
            taken.add(p.field)


def _read_sample(path: Path):
    """(skip_rows, reader) for the reading of ``path`` whose header matches the most fields.

    Title rows above the header are common: take each of the first rows as the header in turn.
    """
    from courtfeed.config.template import FormatSpec
    from courtfeed.readers import open_file
    from courtfeed.rejects import FileRejected

    best: tuple[int, int, FileReader] | None = None
    for skip in range(0, MAX_TITLE_ROWS + 1):
        try:
            reader = open_file(path, FormatSpec(skip_rows=skip), batch_rows=SAMPLE_ROWS)
        except FileRejected:  # e.g. no header left once this many title rows are skipped
            if skip == 0:
                raise
            break
        score = sum(1 for c in reader.columns if match_header(c)[0])
        if best is None or score > best[0]:
            best = (score, skip, reader)
    assert best is not None  # skip 0 either returned a reader or raised
    return best[1], best[2]


def _field_spec(p: Proposal) -> dict:
    spec: dict = {"column": p.column}
    if p.type:
        spec["type"] = p.type
    if p.format:
        spec["format"] = p.format
    entity, name = (p.field or "").split(".", 1)
    if name in NATURAL_KEYS.get(entity, ()):
        spec["required"] = True
    return spec


def _complete_keys(fields: dict[str, dict]) -> list[str]:
    """Make every mapped entity identifiable where the file allows it; notes on what is left.

    Events often have no id of their own (a juror summoned for a date): their reference is then
    composed from the client reference and the date, as the jury_summons template does.
    """
    notes = []
    entities = {target.split(".", 1)[0] for target in fields}
    if "event" in entities and "event.reference" not in fields:
        has_fallback = (
            ("event.case_number" in fields or "case.number" in fields)
            # The mapper's starts_at needs a time as well as a date.
            and ("event.starts_at" in fields or ("event.date" in fields and "event.time" in fields))
            and "event.location" in fields
        )
        client = fields.get("event.client_reference") or fields.get("client.reference")
        when = fields.get("event.starts_at") or fields.get("event.date")
        if not has_fallback and client and when and "column" in client and "column" in when:
            parts = [client["column"], when["column"]]
            composed = {"columns": parts, "join": "@"}
            # Keep the key first among the event fields, where a reader looks for it.
            first_event = next(t for t in fields if t.startswith("event."))
            reordered = {}
            for target, spec in fields.items():
                if target == first_event:
                    reordered["event.reference"] = composed
                reordered[target] = spec
            fields.clear()
            fields.update(reordered)
            notes.append(
                f"event.reference is composed from {parts[0]!r} and {parts[1]!r} "
                "because no column holds an event id; review it"
            )
        elif not has_fallback:
            notes.append(
                "no column identifies an event (event.reference, or case number + date + time + location): "
                "map event.reference by hand"
            )
    for entity in ("client", "case", "payment"):
        key = f"{entity}.{NATURAL_KEYS[entity][0]}"
        if entity in entities and key not in fields:
            notes.append(f"no column matched {key}: {entity} records cannot be identified; map it by hand")
    return notes


def _template_name(path: Path) -> str:
    # "metro_hearings_20261128.txt" -> "metro_hearings": the date stamp changes every delivery.
    name = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()).strip("_") or "template"
    return re.sub(r"_?\d{6,}.*$", "", name) or name


def propose(path: Path) -> dict:
    """A template dict for the file plus a report of matches, unmatched columns and notes.

    The report is ``{"matched": [{column, field, confidence, type, format}], "unmatched":
    [{column, best_confidence}], "notes": [str]}``; it names headers, never row values.
    """
    from courtfeed.config.template import FormatSpec

    path = Path(path)
    skip_rows, reader = _read_sample(path)
    first = next(iter(reader.batches), None)
    proposals: list[Proposal] = []
    used: set[str] = set()
    for col in reader.columns:
        field, conf = match_header(col)
        if field in used:
            field = None  # a second column for the same field stays unmatched
        values = [] if first is None else [v for v in first.table.column(col).to_pylist() if v]
        typ, form = guess_type(values)
        proposals.append(Proposal(col, field, conf, typ, form))
        if field:
            used.add(field)
    _prefer_dominant_entity(proposals)
    fields = {p.field: _field_spec(p) for p in proposals if p.field}
    notes = _complete_keys(fields)

    fmt_out: dict = {"type": FormatSpec().resolved_type(path.name), "encoding": "auto", "header": True}
    if skip_rows:
        fmt_out["skip_rows"] = skip_rows
    if reader.delimiter:
        fmt_out["delimiter"] = reader.delimiter
    template = {
        "name": _template_name(path),
        "description": f"Proposed by courtfeed automap from {path.name}; review before use",
        "format": fmt_out,
        "method": "update_by_fields",
        "fields": fields,
        "reject_threshold": 0.05,
    }
    report = {
        "matched": [
            {
                "column": p.column,
                "field": p.field,
                "confidence": p.confidence,
                "type": p.type or "text",
                "format": p.format,
            }
            for p in proposals
            if p.field
        ],
        "unmatched": [
            {"column": p.column, "best_confidence": p.confidence} for p in proposals if not p.field
        ],
        "notes": notes,
    }
    return {"template": template, "report": report}
