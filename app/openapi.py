"""The OpenAPI document, completed with the answers that middleware and the framework give."""

from typing import Any

from fastapi import FastAPI

from app.errors import responses

ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _error_answer(code: int) -> dict[str, Any]:
    return {"description": responses(code)[code]["description"], "content": ERROR_BODY}


def complete(app: FastAPI) -> None:
    """Document, on every operation with a body, the 400 for a body that is not JSON text
    and the 413 of the body-size limit."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        for code in (400, 413):
                            operation["responses"].setdefault(str(code), _error_answer(code))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
