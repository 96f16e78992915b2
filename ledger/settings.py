"""Configuration (SPEC §8), read once from the environment by pydantic-settings."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MEMORY_URL = "memory://"
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Settings(BaseSettings):
    """Fails fast on a database URL it cannot use, rather than at the first request."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = "sqlite:///./ledger.db"
    api_keys_file: Path | None = None
    log_format: Literal["console", "json"] | None = None
    # GET /health answers 503 when a projection is this many events behind the log's head.
    projection_max_lag: int = Field(default=10_000, ge=1)
    # I13: business dates (payment, decision, receipt …) lie between this date and
    # today + this many years; later dates are typing errors, earlier ones fall out
    # of every yearly reconciliation.
    earliest_business_date: date = date(1990, 1, 1)
    business_years_ahead: int = Field(default=2, ge=0, le=100)
    # Expensive requests (/integrity, /events, CSV, pages over 100 rows) per API key, in
    # the notation of the `limits` library; empty: no limit (api/ratelimit.py).
    rate_limit: str = "10/second;300/minute"
    # Where the counts live: memory:// counts per worker process; a shared storage of
    # `limits` (redis://…) counts once for all workers and servers.
    rate_limit_storage: str = "memory://"

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        persistence_env(value)
        return value

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse_many  # only the API needs it

        if value.strip():
            parse_many(value)  # raises ValueError on a limit it cannot read
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_rate_limit_storage(cls, value: str) -> str:
        from limits.errors import ConfigurationError  # only the API needs it
        from limits.storage import storage_from_string

        try:  # an unknown scheme, or a storage whose client package is missing
            storage_from_string(value if value.startswith("async+") else f"async+{value}")
        except ConfigurationError as exc:
            raise ValueError(f"rate_limit_storage {value!r}: {exc}") from None
        return value

    def eventsourcing_env(self) -> dict[str, str]:
        """The Ledger application's environment: persistence and the date window."""
        return {
            **persistence_env(self.database_url),
            # eventsourcing's JSON, written by orjson when that gives the same bytes.
            "TRANSCODER_TOPIC": "ledger.persistence.transcodings:LedgerTranscoder",
            "LEDGER_EARLIEST_BUSINESS_DATE": self.earliest_business_date.isoformat(),
            "LEDGER_BUSINESS_YEARS_AHEAD": str(self.business_years_ahead),
        }

    def environment(self) -> dict[str, str]:
        """These settings as LEDGER_* variables, for processes that read them back."""
        return {f"LEDGER_{name.upper()}": str(value)
                for name, value in self.model_dump(exclude_none=True).items()}


def persistence_env(url: str) -> dict[str, str]:
    """Map LEDGER_DATABASE_URL to eventsourcing's environment variables.

    Raises ValueError for a scheme or URL the ledger cannot use.
    """
    if url in (MEMORY_URL, "memory:"):
        return {"PERSISTENCE_MODULE": "ledger.persistence.popo:ChainedPOPOFactory"}
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("a SQLite URL looks like sqlite:///path/to/ledger.db")
        return {
            "PERSISTENCE_MODULE": "ledger.persistence.sqlite:LedgerSQLiteFactory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "ledger.persistence.sqlite:ChainedSQLiteRecorder",
        }
    if parts.scheme in ("postgresql", "postgres"):
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise ValueError("a PostgreSQL URL names its database: postgresql://host/db")
        query = parse_qs(parts.query)
        schema = query.get("schema", ["public"])[0]
        if not _SCHEMA.fullmatch(schema):
            # the read side names it unquoted on its search_path, where PostgreSQL folds
            # it to lower case: "MixedCase" would be made by one side and missed by the other
            raise ValueError(f"?schema={schema}: a schema name of lower-case letters, digits "
                             "and _ (at most 63, not starting with a digit)")
        env = {
            "PERSISTENCE_MODULE": "ledger.persistence.postgres:LedgerPostgresFactory",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": "ledger.persistence.postgres:ChainedPostgresRecorder",
        }
        return env
    raise ValueError(
        f"unsupported LEDGER_DATABASE_URL {url!r}: use sqlite:///path, "
        "postgresql://user:pw@host:port/db or memory://"
    )


def database_kind(url: str) -> Literal["memory", "sqlite", "postgresql"]:
    if url.startswith("memory:"):
        return "memory"
    if url.startswith("sqlite:"):
        return "sqlite"
    return "postgresql"
