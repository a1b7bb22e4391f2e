"""Every operation, called by schemathesis with generated input (valid and invalid) as
anonymous and as each role, answers without a 5xx and with a status its OpenAPI document
lists. Bounded: ten examples per operation and role, on each database."""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.helpers.events import published_event

ROLES = ["anonymous", "admin", "dg_rtd", "jrc", "member", "participant"]
# Examples per operation and role: a bounded run, a few minutes for the whole API.
EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance]


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_no_undocumented_status(app, dg_rtd, request, role):
    # Something to find at small ids. The client that made it stops the application's
    # own tasks as it closes: schemathesis calls the application on event loops of its
    # own, and the watchdog, run on another loop, cannot look at those requests.
    with TestClient(app) as client:
        published_event(client, dg_rtd.headers)
    headers = {} if role == "anonymous" else request.getfixturevalue(role).headers
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures = []
    for operation in operations:

        @given(case=st.one_of(operation.as_strategy(mode) for mode in GenerationMode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Exception as error:  # every operation is tried; all failures are reported
            # A failure that does not repeat comes wrapped: its own text says what it was.
            inner = [str(exception)[:1500] for exception in getattr(error, "exceptions", ())]
            failures.append(f"{operation.label}: {str(error)[:1500]} {inner}")
    assert failures == []
