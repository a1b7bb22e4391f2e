"""The rules every endpoint keeps, checked on every endpoint: one shape for lists, for
times and for invalid input, and no query parameter silently ignored."""

import re
import types
import typing
from datetime import UTC, datetime
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import BaseModel, PlainSerializer, ValidationError

from app.common.schemas import Instant, LocalTime, Strict
from app.main import create_app
from tests.helpers.answers import detail_of
from tests.helpers.events import published_event
from tests.helpers.routes import api_routes
from tests.helpers.seminars import open_seminar


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def _answer_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    for code in ("200", "201"):
        if code in operation["responses"]:
            content = operation["responses"][code].get("content", {})
            return content.get("application/json", {}).get("schema")
    return None


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get("/openapi.json").json()


# Lists


def test_every_list_answers_a_page_with_the_same_paging_parameters(spec):
    pages = []
    for method, path, operation in _operations(spec):
        schema = _answer_schema(operation)
        if schema is None:
            continue
        answer = _resolve(spec, schema)
        assert answer.get("type") != "array", f"{method.upper()} {path} answers a bare list"
        if set(answer.get("properties", {})) != {"items", "total", "limit", "offset"}:
            continue
        pages.append((method, path))
        assert method == "get", path
        assert answer["required"] == ["items", "total", "limit", "offset"], path
        assert answer["properties"]["items"]["type"] == "array", path
        for name in ("total", "limit", "offset"):
            assert answer["properties"][name]["type"] == "integer", (path, name)
        paging = {
            parameter["name"]: parameter["schema"]
            for parameter in operation["parameters"]
            if parameter["in"] == "query" and parameter["name"] in ("limit", "offset")
        }
        assert paging == {
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 200,
                "default": 50,
                "description": "at most this many items, 1 to 200",
                "title": "Limit",
            },
            "offset": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2147483647,
                "default": 0,
                "description": "skip this many items",
                "title": "Offset",
            },
        }, path
    assert {path for _, path in pages} >= {
        "/users",
        "/users/{user_id}/tokens",
        "/priority-areas",
        "/actions",
        "/seminars",
        "/seminars/{seminar_id}/proposals",
        "/events",
        "/events/{event_id}/registrations",
        "/me/registrations",
        "/audit",
    }


def test_paging_slices_the_list_and_keeps_its_total(client):
    first = client.get("/actions", params={"limit": 4}).json()
    second = client.get("/actions", params={"limit": 4, "offset": 4}).json()
    assert (first["total"], first["limit"], first["offset"]) == (11, 4, 0)
    assert [a["number"] for a in first["items"]] == [1, 2, 3, 4]
    assert [a["number"] for a in second["items"]] == [5, 6, 7, 8]
    beyond = client.get("/actions", params={"offset": 50}).json()
    assert (beyond["items"], beyond["total"]) == ([], 11)
    default = client.get("/actions").json()
    assert (default["limit"], default["offset"]) == (50, 0)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_paging_out_of_bounds_is_422_on_every_list(client, spec, admin, sedec, params):
    ids = {
        "seminar_id": open_seminar(client, sedec)["id"],
        "event_id": published_event(client, sedec.headers)["id"],
        "user_id": admin.id,
    }
    for method, path, operation in _operations(spec):
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        if "limit" not in names:
            continue
        concrete = re.sub(r"\{([a-z_]+)\}", lambda m: str(ids[m.group(1)]), path)
        response = client.request(method, concrete, params=params, headers=admin.headers)
        assert response.status_code == 422, (path, response.text)
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", next(iter(params))], path


def test_an_unknown_query_parameter_is_422_naming_it_on_every_endpoint(client, spec, admin):
    for method, path, _operation in _operations(spec):
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        response = client.request(
            method, concrete, params={"colour": "red", "pgae": "2"}, headers=admin.headers
        )
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["detail"] == [
            {
                "loc": ["query", name],
                "msg": response.json()["detail"][index]["msg"],
                "type": "extra_forbidden",
            }
            for index, name in enumerate(["colour", "pgae"])
        ], path
        assert "Unknown query parameter" in detail_of(response), path


def test_an_unknown_query_parameter_says_what_the_endpoint_takes(client, dg_rtd, db):
    published_event(client, dg_rtd.headers, title="Hydrogen valleys")
    published_event(client, dg_rtd.headers, title="Cultural and creative industries")
    response = client.get("/events", params={"search": "hydrogen"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "search"]
    assert error["msg"].startswith("Unknown query parameter; this endpoint takes action, ")
    assert " q, " in error["msg"]
    assert "no query parameters" in detail_of(client.get("/me", params={"x": "1"}))


def _query_parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == "query"]


def test_a_parameter_that_takes_one_value_given_twice_is_422_naming_it_on_every_endpoint(
    client, spec, admin
):
    tried = 0
    for method, path, operation in _operations(spec):
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        for parameter in _query_parameters(operation):
            if parameter["schema"].get("type") == "array":
                continue
            name = parameter["name"]
            response = client.request(
                method, concrete, params=[(name, "1"), (name, "2")], headers=admin.headers
            )
            assert response.status_code == 422, (method, path, name, response.text)
            assert response.json()["detail"] == [
                {
                    "loc": ["query", name],
                    "msg": f"{name} is given 2 times; it takes one value, so send it once",
                    "type": "value_error",
                }
            ], (method, path)
            tried += 1
    assert tried > 30


def test_a_parameter_that_takes_several_values_may_be_repeated(client, spec):
    repeatable = {
        (path, parameter["name"])
        for _method, path, operation in _operations(spec)
        for parameter in _query_parameters(operation)
        if parameter["schema"].get("type") == "array"
    }
    assert ("/calendar.ics", "kind") in repeatable
    for path, name in repeatable:
        value = {"kind": "other", "country": "BE"}.get(name, "3")
        response = client.get(path, params=[(name, value), (name, value)])
        assert response.status_code == 200, (path, name, response.text)


def test_unknown_and_repeated_parameters_are_named_together(client):
    response = client.get(
        "/events", params=[("kind", "other"), ("kind", "other"), ("colour", "red")]
    )
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["query", "colour"],
        ["query", "kind"],
    ]


def test_documentation_pages_are_not_api_endpoints(client):
    assert client.get("/docs", params={"x": "1"}).status_code == 200


# Times


def _times_in(annotation: Any, where: str, seen: set[type]) -> list[tuple[str, Any]]:
    """Every datetime in a response type, with the annotation that carries it."""
    found: list[tuple[str, Any]] = []
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        if base is datetime:
            return [(where, metadata)]
        return _times_in(base, where, seen)
    if annotation is datetime:
        return [(where, [])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        for name, field in annotation.model_fields.items():
            carried = (
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            found += _times_in(carried, f"{annotation.__name__}.{name}", seen)
        return found
    if get_origin(annotation) in (typing.Union, types.UnionType, list, dict, tuple):
        for argument in get_args(annotation):
            found += _times_in(argument, where, seen)
    return found


def test_every_time_in_every_answer_is_an_instant_or_a_local_time(settings):
    serialisers = {
        next(m for m in get_args(kind)[1:] if isinstance(m, PlainSerializer)).func
        for kind in (Instant, LocalTime)
    }
    app = create_app(settings)
    times: list[tuple[str, Any]] = []
    seen: set[type] = set()
    for route in api_routes(app):
        if route.response_model is not None:
            times += _times_in(route.response_model, route.path, seen)
    app.state.engine.dispose()
    assert len(times) > 30
    for where, metadata in times:
        carried = {m.func for m in metadata if isinstance(m, PlainSerializer)}
        assert carried & serialisers, f"{where} is a datetime answered in no agreed shape"


def test_instants_are_written_in_utc_to_the_second_and_local_times_with_their_offset(
    client, clock, dg_rtd
):
    clock.set(datetime(2026, 11, 25, 9, 0, 7, 654321, tzinfo=UTC))
    event = published_event(
        client,
        dg_rtd.headers,
        starts_at="2027-01-20T10:00:00.5+00:00",
        ends_at="2027-01-20T12:00",
        timezone="Europe/Lisbon",
    )
    assert event["created_at"] == "2026-11-25T09:00:07Z"
    assert event["starts_at"] == "2027-01-20T10:00:00Z"
    assert event["local_starts_at"] == "2027-01-20T10:00:00+00:00"  # never Z for a local time
    [entry] = client.get(
        "/audit", headers=dg_rtd.headers, params={"entity_type": "event", "entity_id": event["id"]}
    ).json()["items"]
    assert entry["at"] == "2026-11-25T09:00:07Z"
    assert entry["after"]["starts_at"] == "2027-01-20T10:00:00Z"  # snapshots alike
    assert entry["entity_id"] == event["id"]


# Invalid input


def _bodies() -> list[type[BaseModel]]:
    """Every request body the service reads (its models all derive from ``Strict``)."""
    found: list[type[BaseModel]] = []
    waiting: list[type[BaseModel]] = [Strict]
    while waiting:
        for model in waiting.pop().__subclasses__():
            if model not in found:
                found.append(model)
                waiting.append(model)
    return found


def _scalars(annotation: Any) -> tuple[set[type], bool]:
    """The int and bool types an annotation takes, and whether inside a list."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalars(get_args(annotation)[0])
    if origin is list:
        kinds, _ = _scalars(get_args(annotation)[0])
        return kinds, True
    if origin in (typing.Union, types.UnionType):
        kinds, listed = set(), False
        for argument in get_args(annotation):
            more, inside = _scalars(argument)
            kinds, listed = kinds | more, listed or inside
        return kinds, listed
    if origin is typing.Literal and all(isinstance(v, int) for v in get_args(annotation)):
        return {int}, False
    return ({annotation} & {int, bool}), False


def test_every_number_and_yes_or_no_in_a_body_is_taken_only_as_json_sends_it(settings):
    """ "capacity": true is not a capacity of 1, nor "5" one of 5, nor "yes" a yes: a
    value of the wrong JSON type is refused where lax validation would convert it."""
    create_app(settings).state.engine.dispose()  # every router imported
    wrong: dict[type, list[object]] = {int: [True, "1", 1.0], bool: ["true", 1]}
    checked = []
    for model in _bodies():
        for name, field in model.model_fields.items():
            kinds, listed = _scalars(
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            for value in (v for kind in kinds for v in wrong[kind]):
                sent = [value] if listed else value
                with pytest.raises(ValidationError) as refused:
                    model.model_validate({name: sent})
                fields = {error["loc"][0] for error in refused.value.errors()}
                assert name in fields, f"{model.__name__}.{name} took {sent!r}"
                checked.append((model.__name__, name))
    assert len(set(checked)) > 25


def test_field_validation_and_business_rules_answer_422_in_one_shape(client, dg_rtd):
    field = client.post("/events", headers=dg_rtd.headers, json={"title": "Missing the rest"})
    rule = client.post(
        "/events",
        headers=dg_rtd.headers,
        json={
            "title": "An event no action serves",
            "kind": "other",
            "starts_at": "2027-03-10T09:30",
            "ends_at": "2027-03-10T17:00",
            "timezone": "Europe/Brussels",
            "online_url": "https://webcast.example.eu",
            "actions": [99],
        },
    )
    for response in (field, rule):
        assert response.status_code == 422
        for error in response.json()["detail"]:
            assert set(error) == {"loc", "msg", "type"}, error
            assert error["loc"][0] in ("body", "query", "path")
            assert not error["msg"].startswith("Value error")
    assert rule.json()["detail"] == [
        {
            "loc": ["body", "actions"],
            "msg": "Unknown action 99; the plan's catalogue has no such action",
            "type": "value_error",
        }
    ]


def test_every_operation_documents_the_one_422_shape(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    invalid = _resolve(spec, {"$ref": "#/components/schemas/InvalidBody"})
    error = _resolve(spec, invalid["properties"]["detail"]["items"])
    assert error["required"] == ["loc", "msg", "type"]
    for method, path, operation in _operations(spec):
        schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/InvalidBody"}, (method, path)
