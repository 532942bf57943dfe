"""Property-based requests generated from the OpenAPI document (schemathesis): whatever a client
sends, valid or not, no route answers with a server error. Bounded: a fixed number of examples
per operation and mode, sent as the centre's analyst (who may call almost everything) and as a
verified citizen."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api_world import CITIZEN_ID, VICTIM
from fanzha.api import ApiSettings, create_app
from fanzha.api.access import add_session
from fanzha.linkage import SmsSink, now

EXAMPLES = 8  # per operation, mode and caller


@pytest.fixture(scope="module")
def fuzzed(world, tmp_path_factory):
    path, keys = world
    d = tmp_path_factory.mktemp("fuzz")
    db = str(d / "fuzz.duckdb")
    shutil.copy(path, db)
    app = create_app(db, ApiSettings(sms_sink=SmsSink(str(d / "sms")), upload_limit_bytes=1 << 20))
    session = add_session(app.state.db.store, "app-96110", CITIZEN_ID, VICTIM, now())
    app.state.tokens = {"analyst": keys["analyst"], "citizen": session["token"]}
    yield app
    app.state.db.close()


@pytest.mark.parametrize("who", ["analyst", "citizen"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_makes_a_server_error(fuzzed, who, mode):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed)
    headers = {"Authorization": f"Bearer {fuzzed.state.tokens[who]}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30
    for op in operations:

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:  # nothing to send wrong (GET /v1/health has no parameters)
            assert mode == GenerationMode.NEGATIVE and not op.query and not op.body
