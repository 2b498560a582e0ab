"""Property-based requests generated from the API's own OpenAPI schema, with a real owner token: never a 5xx.

Path ids are pinned to a seeded shop with a run waiting for approval, so generated bodies and
query strings reach the handlers instead of stopping at the tenant check's 404; the admin routes get
the admin token. A few examples per operation keep the whole file well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from agent.service.app import create_app
from agent.service.settings import ServiceSettings

from .conftest import ADMIN_TOKEN, SHOP_A, Service, running_service

MAX_EXAMPLES = 6

# Loaded from the app's schema without starting it; each test sends its cases to a seeded app of its own.
# (`schemathesis.pytest.from_fixture` would load it from a fixture, but it breaks on pytest 9: `_nodeid`.)
SPEC = create_app(ServiceSettings(admin_token=ADMIN_TOKEN, scheduler=False)).openapi()
owner_schema = schemathesis.openapi.from_dict(SPEC).exclude(path_regex="^/admin")
admin_schema = schemathesis.openapi.from_dict(SPEC).include(path_regex="^/admin")
FEW = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, str]]]:
    """One service for the whole file (cases may change it; none may break it): shop A, its owner token,
    and the ids of a run waiting for approval."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("XIAOER_LLM_BASE_URL", "XIAOER_LLM_API_KEY", "OPENAI_API_KEY"):
            env.delenv(name, raising=False)
        with running_service(tmp_path_factory.mktemp("schemathesis")) as svc:
            token = svc.create_shop(SHOP_A, policy={})
            run = svc.http.post(f"/shops/{SHOP_A}/runs", headers=svc.bearer(token)).json()
            report = svc.http.get(f"/shops/{SHOP_A}/reports", headers=svc.bearer(token)).json()[0]
            yield svc, {"token": token, "shop_id": SHOP_A, "run_id": run["run_id"],
                        "proposal_id": run["pending"][0], "date": report["date"]}


@owner_schema.parametrize()
@FEW
def test_no_server_errors_for_an_owner(case: Any, seeded: tuple[Service, dict[str, str]]) -> None:
    svc, ids = seeded
    for name in case.path_parameters or {}:
        case.path_parameters[name] = ids.get(name, case.path_parameters[name])
    case.call_and_validate(app=svc.app, headers=svc.bearer(ids["token"]), checks=[not_a_server_error])


@admin_schema.parametrize()
@FEW
def test_no_server_errors_for_the_admin(case: Any, seeded: tuple[Service, dict[str, str]]) -> None:
    svc, ids = seeded
    if case.path_parameters and "shop_id" in case.path_parameters:
        case.path_parameters["shop_id"] = ids["shop_id"]
    case.call_and_validate(app=svc.app, headers=svc.admin(), checks=[not_a_server_error])
