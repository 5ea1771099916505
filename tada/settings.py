"""One settings object for the worker, the CLI and the local stack.

Every value comes from a ``TADA_*`` environment variable (or a ``.env`` file in
the working directory). With none set, the defaults point at the local stack
that ``make run`` starts: embedded PostgreSQL, the Temporal dev server and the
SMTP outbox, all on 127.0.0.1.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tada.domain.durations import parse_duration

#: The platform registry that ships with tada (TADA_PLATFORMS points elsewhere).
SHIPPED_PLATFORMS = Path(__file__).resolve().parent / "platforms.toml"


def default_state_dir() -> Path:
    """``.tada`` at the root of the checkout when tada runs from one (``make run``, an editable
    install: the package sits beside ``pyproject.toml`` and ``schema.sql``), whatever the working
    directory; installed from a wheel, ``.tada`` in the working directory."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "schema.sql").is_file():
        return checkout / ".tada"
    return Path.cwd() / ".tada"


#: Ports of the local stack (``make run``); documented in the README.
LOCAL_POSTGRES_PORT = 54329
LOCAL_SMTP_PORT = 8025
LOCAL_TEMPORAL_PORT = 7233
LOCAL_TEMPORAL_UI_PORT = 8233
LOCAL_API_PORT = 8234


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TADA_", env_file=".env", extra="ignore")

    temporal_address: str = f"127.0.0.1:{LOCAL_TEMPORAL_PORT}"
    temporal_namespace: str = "default"
    task_queue: str = "tada"
    #: A Temporal cluster or Temporal Cloud: an API key (implies TLS), or mTLS with a client
    #: certificate and key (PEM files), or TLS alone.
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None

    database_url: str = f"postgresql://postgres@127.0.0.1:{LOCAL_POSTGRES_PORT}/tada"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = LOCAL_SMTP_PORT
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    notice_from: str = "Take-Down Assistance <takedown@tada.invalid>"
    notifier_name: str = "Take-Down Assistance (tada)"
    #: The signatory's title under the organisation's name: notices are signed as the victim's
    #: authorised representative (a law that needs a signature: tada/domain/laws.py).
    notifier_title: str = "Authorised representative"
    #: The organisation's reply address (e.g. takedown@org.example): every notice's Reply-To is
    #: it with a plus-tag naming the notice (takedown+<tag>@org.example). Unset: no Reply-To.
    reply_to: str | None = None

    #: The mailbox replies arrive in (IMAP4rev1), read by the worker. Unset host: no reader.
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = Field(default=60.0, gt=0)

    platforms: Path = SHIPPED_PLATFORMS
    allow_private_targets: bool = False
    #: Every outgoing HTTP request (liveness, forms, RDAP): at most this long in all, this many bytes read.
    egress_total_timeout_seconds: float = Field(default=30.0, gt=0)
    egress_max_response_bytes: int = Field(default=4 * 1024 * 1024, gt=0)

    #: Victim data at rest (references, notes): a base64 32-byte key, or "id:base64key,..." (the
    #: first encrypts). Unset: <state_dir>/data_key if it exists (`make run` writes one).
    data_key: SecretStr = SecretStr("")
    #: The CLI's token (TADA_TOKEN), looked up in api_tokens for its role; no tokens at all: local mode.
    cli_token: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("TADA_TOKEN", "TADA_CLI_TOKEN"))

    minimum_age: int = Field(default=16, ge=0)
    underage_signpost: str = (
        "tada cannot open a case for a person under {minimum_age}. "
        "Please contact your local child-protection hotline or the police; "
        "in the UK the IWF/Childline 'Report Remove' service, elsewhere NCMEC's 'Take It Down'."
    )

    #: Where the local stack keeps its state (PostgreSQL data, Temporal SQLite, outbox).
    state_dir: Path = Field(default_factory=default_state_dir)

    #: Host escalation: where the IANA RDAP bootstrap comes from (None: IANA itself; or a
    #: base URL serving dns.json/ipv4.json/ipv6.json, a directory of them, or a saved file).
    rdap_bootstrap: str | None = None
    rdap_allow_http: bool = False  # accept http:// RDAP servers (local mirrors, tests)
    rdap_timeout_seconds: float = 15.0
    #: A resolver ("10.0.0.53" or "127.0.0.1:5353") instead of the system's.
    dns_server: str | None = None
    #: Names that must resolve before a "no such name" counts as a site gone: "a.example,b.example";
    #: empty: the platform registry's own domains.
    dns_canaries: str = ""

    #: At most this many notices an hour to one recipient address (0: no limit).
    recipient_hourly_limit: int = Field(default=20, ge=0)
    #: A notice still failing for a temporary reason after this long ("1h", "30m", "2d") is
    #: recorded as delivery_delayed, and the link shows "delivery delayed"; it keeps retrying.
    delivery_warn_after: timedelta = Field(default=timedelta(hours=1))

    @field_validator("delivery_warn_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    #: A monitor's PDQ hash matches a case when within this Hamming distance of one of its hashes.
    pdq_max_distance: int = Field(default=31, ge=0, le=256)
    #: HTTP API (`tada api`, `make run`): "token1:role,token2:role", roles ops, caseworker, monitor;
    #: a monitor names its monitor, "token:monitor:NAME", and reports only on cases that opted into NAME.
    api_tokens: SecretStr = SecretStr("")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=LOCAL_API_PORT, ge=1, le=65535)
    #: The largest request body the HTTP server reads (the API, and the console it will serve). A
    #: repost is a few hundred bytes; the largest valid one, every character \u-escaped, under
    #: 14 KiB: so at least 16 KiB, and 64 KiB by default.
    api_max_body_bytes: int = Field(default=64 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
    #: The reverse proxies (TLS in front of the API and the console) whose X-Forwarded-For is
    #: believed: comma-separated addresses. Without one every person seems to come from the
    #: proxy, and the console's per-address limits would hold them all as one.
    api_trusted_proxies: str = ""
    #: Serve /docs, /redoc and /openapi.json (to anyone: they describe the API, hold no data).
    #: Off unless set; `make run` turns it on unless TADA_API_DOCS says otherwise.
    api_docs: bool = False
    #: The CLI refuses every command that needs a role unless a token is presented (TADA_TOKEN):
    #: no local single-user mode. A guard for a deployment, not a wall (see tada/cli/access.py).
    require_token: bool = False
    #: The caseworkers' web console (served with the API): every person must enrol a TOTP second
    #: factor before anything else; session cookies marked Secure (behind TLS); a session ends
    #: after this many idle minutes; 5 wrong passwords or codes in a row from one address lock an
    #: account from there for this many minutes (an ops user can lift it sooner: tada user unlock NAME).
    console_require_2fa: bool = False
    console_secure_cookies: bool = False
    console_idle_minutes: int = Field(default=30, ge=1)
    console_lockout_minutes: int = Field(default=15, ge=1)
    #: The largest link import a signed-in person may send the console (a pasted list or a CSV
    #: file); every other request keeps api_max_body_bytes.
    console_max_import_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    #: The organisation's time zone (IANA name, e.g. Asia/Hong_Kong): times the console shows.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            problem = f"TADA_TIMEZONE: unknown time zone {value[:64]!r} (an IANA name, e.g. Europe/London)"
            raise ValueError(problem) from None
        return value

    #: Workflows a worker keeps in memory between their steps (the rest are replayed from
    #: history when they wake). Each cached link costs about 0.2 MB (its own sandbox).
    max_cached_workflows: int = Field(default=500, ge=0)

    liveness_timeout_seconds: float = 15.0
    liveness_max_bytes: int = 65536
    #: Politeness: at most this many liveness requests at once to one host, across all workers (0: no limit).
    liveness_per_host: int = Field(default=4, ge=0)
    log_format: str = "auto"  # auto | json | console

    #: Temporal payload encryption: "id1:base64key,id2:base64key" (32-byte keys; the first
    #: encrypts, all decrypt). Unset: <state_dir>/payload_keys if it exists (tada/adapters/keys.py).
    payload_keys: SecretStr = SecretStr("")
    #: `tada codec-server`: the token callers must present, its port, the Web UI's origin.
    codec_token: SecretStr | None = None
    codec_port: int = 8235
    codec_cors_origin: str = f"http://127.0.0.1:{LOCAL_TEMPORAL_UI_PORT}"

    @model_validator(mode="after")
    def _client_certificate_with_its_key(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("TADA_TEMPORAL_TLS_CERT and TADA_TEMPORAL_TLS_KEY go together")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
