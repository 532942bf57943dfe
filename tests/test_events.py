import hashlib
import random

import orjson
import pyarrow as pa
import pytest

from fanzha.cli.schema import events_markdown
from fanzha.errors import FanzhaError
from fanzha.events import KINDS, canonical_strings, event_ids, json_schema, kind
from fanzha.ingest.validate import ParseOptions, validate
from fanzha.testing import random_events
from helpers import ROOT

DESIGN_KINDS = [
    "call",
    "sms",
    "visit",
    "app",
    "transfer",
    "registration",
    "login",
    "order",
    "waybill_access",
    "roster",
    "card",
    "report",
    "case",
    "promoter",
    "domain",
]


def test_every_kind_of_the_design_is_defined():
    assert list(KINDS) == DESIGN_KINDS


@pytest.mark.parametrize("name", DESIGN_KINDS)
def test_each_kind_has_ts_a_partner_and_a_valid_example(name):
    k = kind(name)
    assert k.field("ts").required and k.partner and k.doc
    example = {f: v for f, v in k.example.items() if f != "source"}
    table = pa.table(
        {
            f: pa.array(
                [None if v is None else str(v).lower() if isinstance(v, bool) else str(v)],
                pa.string(),
            )
            for f, v in example.items()
        }
    )
    v = validate(k, table, ParseOptions())
    assert v.errors == [], v.errors
    schema = json_schema(k)
    assert set(schema["required"]) == {f.name for f in k.fields if f.required}
    assert set(schema["required"]) <= set(example), "the example fills every required field"


def test_money_is_integer_fen_and_times_are_utc_ms():
    t = kind("transfer").schema.field("amount_fen").type
    assert t == pa.int64()
    assert kind("call").schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert json_schema(kind("transfer"))["properties"]["amount_fen"]["x-unit"] == "fen"


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(FanzhaError, match="unknown event kind 'foo'; known kinds: call"):
        kind("foo")


def test_event_ids_are_sha256_of_the_canonical_row_and_ignore_empty_fields():
    rng = random.Random(1)
    t = random_events("call", 20, rng)
    canon = canonical_strings(kind("call"), t).to_pylist()
    ids = event_ids(kind("call"), t).to_pylist()
    assert ids == [hashlib.sha256(c.encode()).hexdigest()[:32] for c in canon]
    assert len(set(ids)) == 20
    # a null field does not take part: a kind gaining an optional field keeps old ids
    assert all(
        "call_id=" not in c
        for c, v in zip(canon, t["call_id"].to_pylist(), strict=True)
        if v is None
    )


def test_docs_events_md_is_generated_from_the_model():
    assert (ROOT / "docs" / "events.md").read_text(encoding="utf-8") == events_markdown()


def test_json_schema_is_json():
    for k in KINDS.values():
        orjson.loads(orjson.dumps(json_schema(k)))
