"""Every kind of event fanzha accepts, its Arrow schema, and the conventions all code shares.

An event is a fact a partner reports: an operator's call record, a bank's transfer, a platform's
registration, a warehouse's access log, a citizen's report, a police case. This module is the one
place that says which fields each kind has, which are required, what type and unit each is, and
which partner sends it. Everything else imports from here.

Conventions: money is integer fen (分); times are UTC timestamps in milliseconds; phone numbers,
ID numbers and other identifiers are normalised at ingest by `fanzha.ids`. Every stored event also
carries `event_id` (stable: the same fact ingested twice has the same id), `seq` (its place in the
append-only log), `batch_id` (the ingest that brought it) and `source` (the partner that sent it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.taxonomy import FRAUD_TYPE_CODES

FieldType = Literal[
    "token",  # short identifier: account, device, shop, order id (<= 128 chars)
    "text",  # free text: SMS body, report text, address (<= 64 KiB)
    "int",  # integer with optional bounds
    "money",  # integer fen (1 yuan = 100 fen), bounded
    "bool",
    "ts",  # UTC timestamp, millisecond precision
    "phone",  # any dialable number: CN mobile (11 digits), landline (0 + area code), service, +CC intl
    "mobile",  # CN mobile only, 11 digits
    "id_number",  # resident ID (18, upper-case X), residence permits 81/82/83, 9-prefixed permanent residence
    "account",  # bank, payment or platform account identifier
    "url",
    "domain",  # lower-case host name, IDNA (punycode) form
    "bank_card",  # 16-19 digits (Luhn not required: see fanzha.ids.bank_card)
    "county",  # 6-digit administrative division code (GB/T 2260)
    "enum",
    "fraud_type",  # a code of fanzha.taxonomy (Chinese names and aliases are accepted and mapped)
]

TS_TYPE = pa.timestamp("ms", tz="UTC")
MONEY_MAX_FEN = 10**12  # 10 billion yuan: anything above is a unit or typing error
TOKEN_MAX_LEN = 128
TEXT_MAX_LEN = 65536

_ARROW: dict[str, pa.DataType] = {
    "token": pa.string(),
    "text": pa.string(),
    "int": pa.int64(),
    "money": pa.int64(),
    "bool": pa.bool_(),
    "ts": TS_TYPE,
    "phone": pa.string(),
    "mobile": pa.string(),
    "id_number": pa.string(),
    "account": pa.string(),
    "url": pa.string(),
    "domain": pa.string(),
    "bank_card": pa.string(),
    "county": pa.string(),
    "enum": pa.string(),
    "fraud_type": pa.string(),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    doc: str
    required: bool = False
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    default: Any = None  # filled in when the column is absent or the value empty

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]

    @property
    def unit(self) -> str | None:
        return {"money": "fen", "ts": "UTC ms"}.get(self.type) or (
            "s" if self.name.endswith("_s") else None
        )


@dataclass(frozen=True)
class EventKind:
    name: str
    doc: str
    partner: str
    fields: tuple[Field, ...]
    example: dict[str, Any] = field(default_factory=dict)
    derive: tuple[tuple[str, str], ...] = ()  # (target, source): fill target from source if empty
    # (value field, selector field, ((selector value, field type), ...)): the value's type depends
    # on another field of the row, e.g. a report's target_value is a phone when target_kind=phone
    typed_by: tuple[tuple[str, str, tuple[tuple[str, FieldType], ...]], ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of this kind as stored in the log (envelope first, then the kind's fields)."""
        return pa.schema(
            [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in ENVELOPE]
            + [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields]
        )


# Columns every stored event has. `ts` is part of each kind's own fields below as the event time;
# the envelope holds what fanzha adds.
ENVELOPE: tuple[Field, ...] = (
    Field(
        "seq", "int", "position in the append-only event log (assigned at ingest)", required=True
    ),
    Field(
        "event_id",
        "token",
        "stable id: a hash of kind and content, or the partner's own id",
        required=True,
    ),
    Field("batch_id", "int", "the ingest batch that brought this event", required=True),
    Field("source", "token", "the partner that sent the event (bank, operator, platform, ...)"),
)

TS = Field("ts", "ts", "when it happened (UTC, ms)", required=True)
PHONE_IMEI = "handset IMEI"
CALL_TYPES = ("voice", "video", "volte")

KINDS: dict[str, EventKind] = {}


def _kind(
    name: str,
    doc: str,
    partner: str,
    fields: list[Field],
    example: dict[str, Any],
    derive: tuple[tuple[str, str], ...] = (),
    typed_by: tuple[tuple[str, str, tuple[tuple[str, FieldType], ...]], ...] = (),
) -> None:
    KINDS[name] = EventKind(name, doc, partner, (TS, *fields), example, derive, typed_by)


_kind(
    "call",
    "A voice call record (CDR).",
    "telecom operator",
    [
        Field("caller", "phone", "calling number", required=True),
        Field("callee", "phone", "called number", required=True),
        Field(
            "duration_s",
            "int",
            "talk time in seconds; 0 if not answered",
            min=0,
            max=86400,
            default=0,
        ),
        Field(
            "answered", "bool", "whether the call was answered (derived from duration_s if absent)"
        ),
        Field("caller_imei", "token", f"caller's {PHONE_IMEI}"),
        Field("caller_cell", "token", "caller's serving cell id"),
        Field("caller_county", "county", "county code of the caller's serving cell"),
        Field("callee_county", "county", "county code of the callee's serving cell"),
        Field("call_id", "token", "the operator's own record id"),
    ],
    {
        "ts": "2026-03-02T09:15:04.120Z",
        "caller": "17012345678",
        "callee": "13800138000",
        "duration_s": 184,
        "answered": True,
        "caller_imei": "861234567890123",
        "caller_county": "440305",
        "callee_county": "350203",
        "source": "operator-a",
    },
    derive=(("answered", "duration_s"),),
)

_kind(
    "sms",
    "A short message record.",
    "telecom operator",
    [
        Field("sender", "phone", "sending number", required=True),
        Field("receiver", "phone", "receiving number", required=True),
        Field("text", "text", "message body where the operator may share it"),
        Field("sender_imei", "token", f"sender's {PHONE_IMEI}"),
        Field("sender_county", "county", "county code of the sender's serving cell"),
        Field("receiver_county", "county", "county code of the receiver's serving cell"),
    ],
    {
        "ts": "2026-03-02T09:20:00Z",
        "sender": "10690000123",
        "receiver": "13800138000",
        "text": "【某快递】您的包裹丢失，理赔请加客服QQ",
        "source": "operator-a",
    },
)

_kind(
    "visit",
    "A visit to a URL or domain by a subscriber.",
    "telecom operator (DNS/DPI) or a security app",
    [
        Field("phone", "phone", "the subscriber", required=True),
        Field("domain", "domain", "host name visited (derived from url if absent)", required=True),
        Field("url", "url", "full URL where known"),
        Field("ip", "token", "server address"),
    ],
    {
        "ts": "2026-03-02T09:31:10Z",
        "phone": "13800138000",
        "url": "https://taobao-refund.top/claim",
        "domain": "taobao-refund.top",
        "source": "operator-a",
    },
    derive=(("domain", "url"),),
)

_kind(
    "app",
    "An app installed, opened or used for a remote session on a subscriber's phone.",
    "phone vendor or the national anti-fraud app",
    [
        Field("phone", "phone", "the subscriber", required=True),
        Field("app_id", "token", "package name or app hash", required=True),
        Field(
            "action",
            "enum",
            "what happened",
            required=True,
            choices=("install", "uninstall", "open", "remote_session", "screen_share"),
        ),
        Field("app_name", "token", "display name"),
        Field("device_id", "token", "the handset"),
    ],
    {
        "ts": "2026-03-02T09:40:00Z",
        "phone": "13800138000",
        "app_id": "com.zoom.videomeetings",
        "action": "screen_share",
        "app_name": "Zoom",
        "source": "vendor-x",
    },
)

_kind(
    "transfer",
    "A payment from one account to another.",
    "bank or payment institution",
    [
        Field("payer_account", "account", "paying account", required=True),
        Field("payee_account", "account", "receiving account", required=True),
        Field("amount_fen", "money", "amount in fen", required=True, min=1, max=MONEY_MAX_FEN),
        Field("transfer_id", "token", "the bank's transaction id"),
        Field("payer_bank", "token", "payer's bank"),
        Field("payee_bank", "token", "payee's bank"),
        Field("payer_phone", "phone", "phone registered to the payer account"),
        Field("payer_id_number", "id_number", "payer's ID number"),
        Field("payee_name", "token", "payee name as shown"),
        Field(
            "payee_type",
            "enum",
            "what the payee is",
            choices=("person", "merchant", "aggregator", "exchange", "unknown"),
        ),
        Field(
            "channel",
            "enum",
            "how it was made",
            choices=("mobile", "online", "counter", "atm", "pos", "other"),
        ),
        Field(
            "payer_balance_after_fen",
            "money",
            "payer balance after the transfer",
            min=-MONEY_MAX_FEN,
            max=MONEY_MAX_FEN,
        ),
        Field(
            "payee_balance_after_fen",
            "money",
            "payee balance after the transfer",
            min=-MONEY_MAX_FEN,
            max=MONEY_MAX_FEN,
        ),
        Field("memo", "text", "payment remark"),
    ],
    {
        "ts": "2026-03-02T10:05:00Z",
        "transfer_id": "T20260302100500001",
        "payer_account": "6222020200001234567",
        "payee_account": "6217000010001234567",
        "amount_fen": 4990000,
        "payer_bank": "ICBC",
        "payee_bank": "CCB",
        "payer_phone": "13800138000",
        "channel": "mobile",
        "source": "bank-icbc",
    },
)

_kind(
    "registration",
    "A new account registered on a platform.",
    "internet platform",
    [
        Field("platform", "token", "platform name", required=True),
        Field("account_id", "account", "the new account", required=True),
        Field("phone", "phone", "phone number the account was verified with", required=True),
        Field("id_number", "id_number", "real-name ID number, where verified"),
        Field("name", "token", "real name, where verified"),
        Field("device_id", "token", "device the registration came from"),
        Field("ip", "token", "IP address of the registration"),
        Field("ip_county", "county", "county the IP geolocates to"),
        Field("code_device_id", "token", "device that submitted the SMS verification code"),
        Field("code_ip", "token", "IP that submitted the SMS verification code"),
        Field("code_ip_county", "county", "county that IP geolocates to"),
        Field(
            "phone_county", "county", "county of the phone's serving cell when the code was sent"
        ),
        Field("promoter_id", "token", "invite code or promotion team that brought the account"),
    ],
    {
        "ts": "2026-03-02T11:00:00Z",
        "platform": "shop-a",
        "account_id": "u10000001",
        "phone": "13800138000",
        "id_number": "11010519491231002X",
        "device_id": "dev-7f3a",
        "ip": "36.112.10.5",
        "code_ip_county": "440305",
        "phone_county": "511025",
        "source": "platform-shop-a",
    },
)

_kind(
    "login",
    "A login to a platform account.",
    "internet platform",
    [
        Field("platform", "token", "platform name", required=True),
        Field("account_id", "account", "the account", required=True),
        Field("device_id", "token", "device"),
        Field("ip", "token", "IP address"),
        Field("ip_county", "county", "county the IP geolocates to"),
        Field("success", "bool", "whether the login succeeded", default=True),
    ],
    {
        "ts": "2026-03-02T12:00:00Z",
        "platform": "shop-a",
        "account_id": "u10000001",
        "device_id": "dev-7f3a",
        "ip": "36.112.10.5",
        "success": True,
        "source": "platform-shop-a",
    },
)

_kind(
    "order",
    "An order placed on a shopping platform, with its shipping waybill.",
    "internet platform or shop",
    [
        Field("order_id", "token", "order id", required=True),
        Field("account_id", "account", "buyer account", required=True),
        Field("platform", "token", "platform name"),
        Field("shop_id", "token", "the shop"),
        Field("warehouse_id", "token", "the (cloud) warehouse that ships it"),
        Field("deal_id", "token", "promotion or new-user deal used"),
        Field("sku", "token", "item"),
        Field("amount_fen", "money", "amount paid", min=0, max=MONEY_MAX_FEN),
        Field("list_price_fen", "money", "price before discount", min=0, max=MONEY_MAX_FEN),
        Field("ship_name", "token", "recipient name"),
        Field("ship_phone", "phone", "recipient phone"),
        Field("ship_address", "text", "shipping address"),
        Field("ship_county", "county", "shipping county"),
        Field("waybill_no", "token", "courier waybill number"),
        Field("payment_account", "account", "account that paid"),
    ],
    {
        "ts": "2026-03-02T12:30:00Z",
        "order_id": "O8812001",
        "account_id": "u10000001",
        "platform": "shop-a",
        "shop_id": "s-101",
        "warehouse_id": "wh-7",
        "deal_id": "newuser-rice-1fen",
        "amount_fen": 1,
        "list_price_fen": 5990,
        "ship_name": "张三",
        "ship_phone": "13800138000",
        "ship_address": "四川省南充市仪陇县新政镇幸福村3组12号",
        "waybill_no": "YT7000001",
        "source": "platform-shop-a",
    },
)

_kind(
    "waybill_access",
    "A look-up, print or export of personal data in a warehouse, shop or CRM system.",
    "e-commerce warehouse, shop or telecom business hall",
    [
        Field("site", "token", "warehouse, shop or hall", required=True),
        Field("operator_account", "account", "the (sub-)account that acted", required=True),
        Field(
            "action",
            "enum",
            "what was done",
            required=True,
            choices=("login", "query", "view", "print", "export"),
        ),
        Field("system", "token", "the system (WMS, print client, CRM)"),
        Field("device_id", "token", "the PC or terminal"),
        Field("ip", "token", "IP address"),
        Field("order_id", "token", "order or record touched"),
        Field("waybill_no", "token", "waybill touched"),
        Field("subject_phone", "phone", "phone of the customer whose record was touched"),
        Field("record_count", "int", "records returned or exported", min=0, max=10**8, default=1),
        Field("remote_tools", "text", "remote-control programs seen running (comma-separated)"),
        Field("access_id", "token", "the system's own log record id"),
        Field(
            "service_ref",
            "token",
            "the service ticket, order or business transaction the access was for (a CRM that "
            "records one: empty means none was given)",
        ),
    ],
    {
        "ts": "2026-03-02T03:12:00Z",
        "site": "wh-7",
        "operator_account": "wh7-sub-023",
        "action": "export",
        "system": "WMS",
        "device_id": "pc-print-02",
        "record_count": 800,
        "remote_tools": "SunloginClient.exe",
        "source": "warehouse-wh7",
    },
)

_kind(
    "roster",
    "A staff change at a site that holds personal data.",
    "warehouse, shop or hall HR",
    [
        Field("site", "token", "warehouse, shop or hall", required=True),
        Field("operator_account", "account", "the (sub-)account concerned", required=True),
        Field(
            "action",
            "enum",
            "what changed",
            required=True,
            choices=("hire", "leave", "role_change", "disable", "enable"),
        ),
        Field("staff_id", "token", "staff member"),
        Field("role", "token", "role"),
    ],
    {
        "ts": "2026-02-20T10:00:00Z",
        "site": "wh-7",
        "operator_account": "wh7-sub-023",
        "action": "leave",
        "staff_id": "e-5512",
        "role": "picker",
        "source": "warehouse-wh7",
    },
)

_kind(
    "card",
    "A phone (SIM) or bank card issued to, or closed for, an identity.",
    "telecom operator or bank",
    [
        Field("card_type", "enum", "SIM or bank card", required=True, choices=("sim", "bank")),
        Field("card_number", "token", "phone number (SIM) or card number (bank)", required=True),
        Field("id_number", "id_number", "holder's ID number", required=True),
        Field("action", "enum", "opened or closed", choices=("open", "close"), default="open"),
        Field("holder_name", "token", "holder's name"),
        Field("issuer", "token", "operator or bank"),
        Field(
            "card_kind",
            "enum",
            "product kind",
            choices=("prepaid", "postpaid", "iot", "industry", "debit", "credit", "other"),
        ),
        Field("shop_id", "token", "shop or branch that opened it"),
        Field("agent_id", "token", "agent or clerk who opened it"),
        Field("holder_county", "county", "county of the holder's registered address"),
        Field("family_phone", "phone", "family contact registered for the holder (亲情号码)"),
    ],
    {
        "ts": "2026-01-15T08:00:00Z",
        "card_type": "sim",
        "card_number": "13800138000",
        "id_number": "11010519491231002X",
        "issuer": "operator-a",
        "card_kind": "prepaid",
        "shop_id": "hall-0451",
        "agent_id": "ag-17",
        "holder_county": "511025",
        "family_phone": "13900139000",
        "source": "operator-a",
    },
    typed_by=(("card_number", "card_type", (("sim", "phone"), ("bank", "bank_card"))),),
)

_kind(
    "report",
    "A report of a fraud number, URL, app or account; or a confirmation or clearance "
    "of one by police or the centre.",
    "citizen (app, 96110, 12381), police or anti-fraud centre",
    [
        Field(
            "reporter_kind",
            "enum",
            "who reports",
            required=True,
            choices=("citizen", "police", "centre", "bank", "operator", "platform"),
        ),
        Field(
            "target_kind",
            "enum",
            "what is reported",
            required=True,
            choices=("phone", "url", "domain", "app", "account", "bank_account"),
        ),
        Field("target_value", "token", "the number, URL, domain, app or account", required=True),
        Field(
            "verdict",
            "enum",
            "report (suspicion), confirm (police/centre), clear (not fraud)",
            choices=("report", "confirm", "clear"),
            default="report",
        ),
        Field("reporter", "token", "the reporter's phone or id"),
        Field("report_id", "token", "report id"),
        Field("fraud_type", "fraud_type", "fraud type, if known"),
        Field("text", "text", "what the reporter said"),
    ],
    {
        "ts": "2026-03-02T13:00:00Z",
        "reporter_kind": "citizen",
        "target_kind": "phone",
        "target_value": "17012345678",
        "verdict": "report",
        "reporter": "13800138000",
        "fraud_type": "fake_customer_service",
        "text": "自称快递客服说包裹丢了要理赔",
        "source": "app-96110",
    },
    typed_by=(
        (
            "target_value",
            "target_kind",
            (
                ("phone", "phone"),
                ("url", "url"),
                ("domain", "domain"),
                ("account", "account"),
                ("bank_account", "account"),
                ("app", "token"),
            ),
        ),
    ),
)

_kind(
    "case",
    "A police-confirmed fraud loss (one row per payment of the victim).",
    "police",
    [
        Field("case_id", "token", "case number", required=True),
        Field("fraud_type", "fraud_type", "fraud type", required=True),
        Field("victim_phone", "phone", "victim's phone"),
        Field("victim_id_number", "id_number", "victim's ID number"),
        Field("victim_account", "account", "account the victim paid from"),
        Field("transfer_id", "token", "the victim's payment"),
        Field("loss_fen", "money", "amount lost in this payment", min=0, max=MONEY_MAX_FEN),
        Field("paid_at", "ts", "when the victim paid"),
        Field("fraud_contact", "token", "number, URL or account the fraudster used"),
    ],
    {
        "ts": "2026-03-03T09:00:00Z",
        "case_id": "J2026030300017",
        "fraud_type": "fake_customer_service",
        "victim_phone": "13800138000",
        "victim_account": "6222020200001234567",
        "transfer_id": "T20260302100500001",
        "loss_fen": 4990000,
        "paid_at": "2026-03-02T10:05:00Z",
        "fraud_contact": "17012345678",
        "source": "police-xm",
    },
)

_kind(
    "promoter",
    "An authorisation of a promotion team (村推/地推: e.g. medical-insurance e-voucher "
    "activation in villages) by the body that issued it, one row per county of its area and one "
    "per member device; or the revocation of the whole team. The team's code is what platforms "
    "see as a registration's promoter_id.",
    "issuing body (medical-insurance bureau) or the platform that runs the promotion",
    [
        Field("team_id", "token", "the team's promoter / invite code", required=True),
        Field("issuer", "token", "who authorised it (e.g. 贵港市医疗保障局)", required=True),
        Field(
            "action",
            "enum",
            "grant a county or device; revoke the team from ts on",
            choices=("grant", "revoke"),
            default="grant",
        ),
        Field("valid_from", "ts", "start of the authorisation (UTC)"),
        Field("valid_to", "ts", "end of the authorisation (UTC); open-ended if empty"),
        Field("county", "county", "a county of the team's authorised area"),
        Field("device_id", "token", "a member's registered device (tablet or phone)"),
        Field("member", "token", "the member using that device"),
        Field("platform", "token", "the platform the team may bring accounts to"),
        Field("document_no", "token", "number of the authorisation document"),
    ],
    {
        "ts": "2026-02-20T02:00:00Z",
        "team_id": "yb-team-01",
        "issuer": "贵港市医疗保障局",
        "action": "grant",
        "valid_from": "2026-03-01T00:00:00Z",
        "valid_to": "2026-06-30T16:00:00Z",
        "county": "450821",
        "device_id": "yb0-tab-00",
        "platform": "yibao",
        "source": "ybj-guigang",
    },
)


_kind(
    "domain",
    "What is known of a domain's age and owner: a WHOIS registration, the first resolution "
    "passive DNS saw, or an ICP filing (备案) look-up. Fraud sites are young: registered days "
    "before use and rarely filed; `fanzha sites find` weighs a domain's age.",
    "registry / passive-DNS provider or the MIIT ICP filing system",
    [
        Field("domain", "domain", "the host or registrable domain", required=True),
        Field("registered_ts", "ts", "when it was registered (WHOIS creation date, UTC)"),
        Field("first_seen_ts", "ts", "first resolution passive DNS saw (UTC)"),
        Field("registrar", "token", "the registrar"),
        Field("icp", "token", "ICP filing number (备案号) if the site is filed"),
    ],
    {
        "ts": "2026-03-01T08:00:00Z",
        "domain": "taobao-refund.top",
        "registered_ts": "2026-02-26T13:20:00Z",
        "first_seen_ts": "2026-02-27T02:11:00Z",
        "registrar": "namesilo",
        "source": "pdns-x",
    },
)


def kind(name: str) -> EventKind:
    """Look up an event kind; a clear error names the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise FanzhaError(f"unknown event kind {name!r}; known kinds: {', '.join(KINDS)}") from None


def json_schema(k: EventKind) -> dict[str, Any]:
    """The kind's schema as JSON Schema (draft 2020-12), as partners send it to fanzha."""
    props: dict[str, Any] = {}
    for f in (ENVELOPE[1], ENVELOPE[3], *k.fields):
        p: dict[str, Any] = {"description": f.doc}
        if f.type in ("int", "money"):
            p["type"] = "integer"
            if f.min is not None:
                p["minimum"] = f.min
            if f.max is not None:
                p["maximum"] = f.max
        elif f.type == "bool":
            p["type"] = "boolean"
        elif f.type == "ts":
            p["type"] = "string"
            p["format"] = "date-time"
        else:
            p["type"] = "string"
            if f.type == "enum":
                p["enum"] = list(f.choices)
            elif f.type == "fraud_type":
                p["enum"] = list(FRAUD_TYPE_CODES)
            elif f.type == "county":
                p["pattern"] = "^[1-9][0-9]{5}$"
            elif f.type in ("token", "account"):
                p["maxLength"] = TOKEN_MAX_LEN
            elif f.type == "text":
                p["maxLength"] = TEXT_MAX_LEN
        if f.type not in ("token", "text", "int", "bool", "enum"):
            p["x-fanzha-type"] = f.type
        if f.unit:
            p["x-unit"] = f.unit
        if f.default is not None:
            p["default"] = f.default
        props[f.name] = p
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://fanzha.org/schema/events/{k.name}.json",
        "title": k.name,
        "description": f"{k.doc} Sent by: {k.partner}.",
        "type": "object",
        "properties": props,
        "required": [f.name for f in k.fields if f.required],
        "additionalProperties": True,
    }


def canonical_strings(k: EventKind, table: pa.Table) -> pa.Array:
    """Each row as 'kind<US>name=value<US>...' over its non-empty fields, in schema order.

    Only non-null fields take part, so adding an optional field to a kind later does not change the
    ids of events that lack it. `source` is not part of it: the same call reported by two operators
    is one fact.
    """
    import polars as pl

    df = pl.from_arrow(table.select(list(k.field_names)))
    assert isinstance(df, pl.DataFrame)
    parts = []
    for f in k.fields:
        c = pl.col(f.name)
        if f.type == "ts":
            c = c.dt.epoch("ms")
        elif f.type == "bool":
            c = c.cast(pl.Int8)
        parts.append(pl.lit(f.name + "=") + c.cast(pl.String))
    canon = df.select(pl.concat_str([pl.lit(k.name), *parts], separator="\x1f", ignore_nulls=True))
    return canon.to_series().to_arrow()


def event_ids(k: EventKind, table: pa.Table) -> pa.Array:
    """Stable ids: the first 32 hex digits of SHA-256 of each row's canonical string."""
    from fanzha.hashing import sha256_32

    return sha256_32(canonical_strings(k, table))
