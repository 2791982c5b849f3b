"""The ASGI application: ``create_app(settings)`` wires store, auth, limits and routes.

Input: ``ApiSettings``. Output: a FastAPI app serving /v1 and its OpenAPI
document at /openapi.json (interactive docs at /docs and /redoc, served
without any external URL). Stage: shell (the HTTP
API); ``nomo serve`` runs it under uvicorn.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from nomotic_dsl._version import __version__
from nomotic_dsl.http.auth import bearer_check
from nomotic_dsl.http.errors import install_error_handlers
from nomotic_dsl.http.fast import FastContractRoutes
from nomotic_dsl.http.fleet import FleetService, fleet_router
from nomotic_dsl.http.limits import BodyLimitMiddleware, CompileGate
from nomotic_dsl.http.routes import contract_router
from nomotic_dsl.http.service import ContractService
from nomotic_dsl.http.settings import ApiSettings
from nomotic_dsl.runtime.contracts.store import ContractStore
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime

DOCS_ASSETS_URL = "/docs-assets"
DESCRIPTION = """\
Behavioral contracts for AI agents: generate, store, read, diff and seal them,
check `.nomo` policy source, evaluate an agent's invariants on its behavioral
state, and govern a fleet's observations with the verified bundles the server
was started with (one decision per observation, receipts chained per agent).

Writes need `Authorization: Bearer <token>` (the server's `NOMO_API_TOKEN`);
reads need it too when the server is started with `--read-token-required`.
Every error is JSON: `{"error": message, ...}`. `POST /v1/contracts` takes an
`Idempotency-Key` header, so a client can retry a write whose answer it lost.
"""


def create_app(
    settings: ApiSettings | None = None,
    *,
    fleet: FleetRuntime | None = None,
    store: ContractStore | None = None,
    fast_paths: bool = True,
) -> FastAPI:
    """A FastAPI app serving the contract API over the settings' store (SQLite or PostgreSQL).

    ``fleet`` is the runtime ``POST /v1/observations`` feeds (``nomo serve
    --bundle`` loads it from verified bundles); without one that endpoint
    answers 409. ``store`` is the store to serve (default: the settings'
    ``db_path``; a PostgreSQL store is reached at its first request, so the
    app starts while its database is down and answers 503 until it is up).
    ``fast_paths`` False leaves every request to FastAPI (``nomotic_dsl.http.fast``
    answers well-formed writes and reads the same way, with less work).
    """
    settings = settings or ApiSettings()
    if store is None:
        store = ContractStore(settings.db_path, pool=settings.pool, lazy=True)
    service = ContractService(
        store=store,
        signing_key=settings.signing_key,
        signer=settings.signer,
        compile_gate=CompileGate(settings.max_concurrent_checks),
    )
    write_check = bearer_check(settings.write_token)
    read_check = write_check if settings.read_token_required else None
    # Swagger UI at /docs and ReDoc at /redoc from assets shipped in the
    # fastapi-offline wheel, so the pages work on a server with no internet.
    app = FastAPIOffline(
        title="nomo contracts API",
        version=__version__,
        description=DESCRIPTION,
        static_url=DOCS_ASSETS_URL,
        # No "validator" badge: Swagger UI would send the document to an online validator.
        swagger_ui_parameters={"validatorUrl": None},
        lifespan=_closing(store),
    )
    app.include_router(contract_router(service, write_check, read_check))
    app.include_router(fleet_router(FleetService(fleet), write_check, read_check))
    install_error_handlers(app)
    if fast_paths:  # inside the body limit (added first: the last added is the outermost)
        app.add_middleware(
            FastContractRoutes,
            service=service,
            write_token=settings.write_token,
            read_token_required=settings.read_token_required,
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    return app


# The young generation's threshold while serving (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def _closing(store: ContractStore) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that tunes the garbage collector at start and releases the store at the end."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_gc()
        yield
        store.close()

    return lifespan


def tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses out of request latency while serving.

    Everything alive at start-up (modules, the app, the standard library's
    priors) is moved out of the collector's scans (``gc.freeze``): a full
    collection then walks only what was made since, a few milliseconds instead
    of the 70-110 ms it took over the whole heap, a pause every request in
    flight waited for. The young generation is collected every 20,000
    allocations instead of 700: most request objects die by reference count
    before any collection, and the collector ran at every request or two.
    Reference counting frees as before; memory grows by at most the
    young-generation garbage in cycles (a few MB).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
