"""Property-based tests of the REST API from its own OpenAPI schema (schemathesis): requests
generated from every operation's schema, sent with an admin's bearer token to the app on a
seeded database (SQLite and PostgreSQL). No answer may be a server error (5xx), and every
answer must match the schema: a documented status code, the documented content type and a body
that validates against the documented model."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


#: Examples per operation: enough to reach every status an operation documents, bounded so
#: the whole run takes a minute or two per database on a small machine.
MAX_EXAMPLES = 10


def test_api_answers_match_the_schema_and_never_fail(world: World) -> None:
    # Logging out would revoke the token the rest of the run uses, and a generated PATCH of
    # users could deactivate the admin making the requests; generated password changes would
    # lock the admin out (five wrong current passwords) and a password reset of the admin's
    # own id would revoke the token: all tested directly in test_api.py,
    # test_authorization.py and test_web_controls.py.
    schema = (
        schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
        .exclude(path="/api/auth/logout")
        .exclude(path="/api/auth/password")
        .exclude(method="PATCH", path_regex="^/api/users/")
        .exclude(method="POST", path_regex="^/api/users/[^/]+/password-reset$")
    )
    headers = world.headers("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # report, do not spend minutes shrinking
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert operations > 40
    assert failures == [], "\n\n".join(failures)
