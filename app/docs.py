"""The interactive API documentation, Swagger UI and ReDoc, from the service's own files
(fastapi-offline's copies of them): it works on networks that reach no CDN.

Every address it gives the browser (its files, the OpenAPI document, the calls "Try it
out" makes) is under the path of ``KEP_PUBLIC_BASE_URL``, so that a service reached at
``https://example.eu/kep`` documents itself there and not at the host's root."""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

SWAGGER_UI = "/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
REDOC = "/redoc"
# Where fastapi-offline serves the files of both.
FILES = "/static-offline-docs"


def add_documentation(app: FastAPI) -> None:
    title = app.title

    @app.get(SWAGGER_UI, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.app.state.settings.base_path
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
            swagger_js_url=f"{root}{FILES}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{FILES}/swagger-ui.css",
            swagger_favicon_url=f"{root}{FILES}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.app.state.settings.base_path
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{FILES}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FILES}/favicon.png",
            with_google_fonts=False,
        )
