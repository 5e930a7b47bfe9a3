"""The one settings object: `UNTICKET_*` environment variables, then an optional TOML file.

Every path is absolute, resolved from the project root, so commands behave the same from any
working directory. Everything generated lives under `data_dir`, so two data dirs never interfere.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE_ENV = "UNTICKET_CONFIG"


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine (loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Engine(StrEnum):
    """The engines `unticket build` runs dbt on."""

    duckdb = "duckdb"
    spark = "spark"


def _config_file() -> Path:
    """Return the TOML file to read: `$UNTICKET_CONFIG`, else `unticket.toml` in the root."""
    return Path(os.environ.get(CONFIG_FILE_ENV, PROJECT_ROOT / "unticket.toml"))


class Settings(BaseSettings):
    """Configuration for every Unticket command and service."""

    model_config = SettingsConfigDict(env_prefix="UNTICKET_", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "local",
        description="Everything generated: events, enterprise state, warehouse, models, reports.",
    )
    catalogue_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "catalogue",
        description="Intents, playbooks, knowledge articles, costs and the enterprise seed.",
    )
    mappings_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "mappings",
        description="Column mappings for ticket exports of other tools (csv/<name>/ drops).",
    )
    events_fsync: Literal["always", "never"] = Field(
        default="always",
        description="'always' fsyncs each acknowledged batch of events (survives power loss); "
        "'never' only flushes to the OS (survives a killed process).",
    )
    act_confidence: float = Field(
        default=0.6, ge=0, le=1, description="Lowest intent confidence the engine acts on."
    )
    clarify_confidence: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Below act_confidence but at least this: ask a clarifying question.",
    )
    knowledge_min_score: float = Field(
        default=0.35, ge=0, le=1, description="Lowest similarity to answer an IT question."
    )
    knowledge_fallback_score: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Lowest similarity to answer a message the intent model did not understand.",
    )
    idle_timeout_minutes: int = Field(
        default=30, gt=0, description="An open conversation with no reply for this long closes."
    )
    feedback_window_minutes: int = Field(
        default=240, gt=0, description="How long a resolved conversation waits for feedback."
    )
    otp_ttl_seconds: int = Field(default=600, gt=0, description="Lifetime of a one-time code.")
    otp_max_attempts: int = Field(default=3, gt=0, description="Wrong codes before lock-out.")
    recontact_window_hours: int = Field(
        default=72,
        gt=0,
        description="A repeat of the same intent within this window is a re-contact.",
    )
    duckdb_memory_limit: str = Field(
        default="6GB",
        description="Memory DuckDB may use when loading or building; it spills beyond.",
    )
    engine: Engine = Field(
        default=Engine.duckdb,
        description="The engine `unticket build` runs dbt on: DuckDB in this process (the "
        "embedded default), or Apache Spark for scale (pipelines/spark.py).",
    )
    spark_master: str = Field(
        default="local[*]",
        description="The Spark master of a Spark build: local[N] in this process, or a "
        "cluster's URL (spark://host:7077, k8s://...).",
    )
    spark_driver_memory: str = Field(
        default="2g", description="Memory of the Spark driver (the JVM this process starts)."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="More Spark properties for a Spark build (a [spark_conf] table in the "
        "config file), e.g. spark.sql.shuffle.partitions; they win over Unticket's defaults.",
    )
    host: str = Field(default="127.0.0.1", description="Address `unticket serve` binds to.")
    port: int = Field(default=8080, gt=0, lt=65536, description="Port `unticket serve` uses.")
    directory: Literal["embedded", "ldap"] = Field(
        default="embedded", description="Where people, passwords, lock-outs and groups live."
    )
    ldap_url: str = Field(default="", description="LDAP server, e.g. ldaps://ldap.example.com.")
    ldap_bind_dn: str = Field(default="", description="The service account Unticket binds as.")
    ldap_bind_password: SecretStr | None = Field(
        default=None, description="Its password (a secret: never printed or logged)."
    )
    ldap_people_base: str = Field(default="", description="Base DN of people (inetOrgPerson).")
    ldap_groups_base: str = Field(
        default="", description="Base DN of groups (groupOfNames; cn = the catalogue's group id)."
    )
    ldap_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides of the LDAP attribute names, e.g. {employee_id = 'employeeID'}.",
    )
    ldap_mfa_attributes: list[str] = Field(
        default_factory=list, description="Attributes holding MFA enrolment, cleared on MFA reset."
    )
    ldap_mfa_object_classes: list[str] = Field(
        default_factory=list, description="Auxiliary classes removed with them (oathTOTPUser)."
    )
    ldap_lockout_duration_minutes: int = Field(
        default=0, ge=0, description="The policy's pwdLockoutDuration; 0: locked until unlocked."
    )
    ldap_start_tls: bool = Field(default=False, description="StartTLS on an ldap:// URL.")
    ldap_timeout_seconds: int = Field(default=10, gt=0, description="Connect and answer timeout.")
    watch_lockouts: bool = Field(
        default=True,
        description="`unticket serve` watches the directory for lock-outs and offers the "
        "locked-out employee a verified unlock before they ask.",
    )
    lockout_poll_seconds: float = Field(
        default=60, gt=0, description="How often the lock-out watcher polls the directory."
    )
    detect_outages: bool = Field(
        default=True,
        description="`unticket serve` watches the engine's own traffic for spikes of one "
        "problem at one office and handles each as one known outage (resolver/outage.py).",
    )
    outage_poll_seconds: float = Field(
        default=60, gt=0, description="How often the outage detector counts the last hour."
    )
    ticket_sync_minutes: float = Field(
        default=5,
        gt=0,
        description="How often `unticket serve` records the ticket changes made in the "
        "ticketing system (`unticket tickets sync`).",
    )
    outage_intents: list[str] = Field(
        default_factory=lambda: ["vpn_issue", "email_issue", "wifi_issue", "printer_issue"],
        description="Intents a spike of which is an outage of a shared service; new requests "
        "of these from an office with a known outage are linked to its incident.",
    )
    ticketing: Literal["embedded", "servicenow", "jira"] = Field(
        default="embedded",
        description="Where tickets go; a real ITSM is wrapped in a durable queue, so an "
        "escalation survives the ITSM being down.",
    )
    ticketing_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long an escalation waits on the ITSM."
    )
    servicenow_url: str = Field(default="", description="e.g. https://acme.service-now.com")
    servicenow_user: str = Field(default="", description="ServiceNow user (Basic auth).")
    servicenow_password: SecretStr | None = Field(default=None, description="Its password.")
    servicenow_token: SecretStr | None = Field(
        default=None, description="An OAuth bearer token; wins over user and password."
    )
    jira_url: str = Field(default="", description="e.g. https://acme.atlassian.net")
    jira_email: str = Field(default="", description="The Jira account's e-mail.")
    jira_api_token: SecretStr | None = Field(default=None, description="Its API token.")
    jira_service_desk_id: str = Field(default="", description="The JSM service desk id.")
    jira_request_type_id: str = Field(default="", description="The default request type id.")
    jira_project_key: str = Field(default="", description="The service desk's project key.")
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Slack app signing secret; with slack_bot_token, `unticket serve` answers "
        "Slack at /slack/events (a secret: never logged).",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, description="Slack bot token (xoxb-...); a secret."
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="Slack app-level token (xapp-..., scope connections:write); with "
        "slack_bot_token, `unticket serve` also connects to Slack over Socket Mode, no public "
        "URL needed (a secret: never logged).",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL."
    )
    teams_app_id: str | None = Field(
        default=None,
        description="The bot's Microsoft app id; with teams_app_password, `unticket serve` "
        "answers Teams at /api/messages.",
    )
    teams_app_password: SecretStr | None = Field(
        default=None, description="The bot's Microsoft app password; a secret."
    )
    teams_openid_url: str = Field(
        default="https://login.botframework.com/v1/.well-known/openidconfiguration",
        description="Bot Framework OpenID metadata URL (a JWKS URL also works).",
    )
    teams_token_url: str = Field(
        default="https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token",
        description="Client-credentials token URL for the Bot Connector.",
    )
    oidc_issuer: str = Field(
        default="",
        description="The company's OpenID Connect provider (its issuer URL); with oidc_audience, "
        "the HTTP API accepts its signed tokens, and with oidc_client_id and "
        "oidc_client_secret the dashboards sign people in through it.",
    )
    oidc_audience: str = Field(
        default="", description="The audience (`aud`) the API's bearer tokens must carry."
    )
    oidc_user_claim: str = Field(
        default="email",
        description="The token claim naming the employee (matched to the directory's e-mail, "
        "username or employee id).",
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="The claim listing the signed-in person's roles; `it_leader` and `analyst` "
        "see the analytics pages.",
    )
    oidc_client_id: str = Field(default="", description="The dashboards' OIDC client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The dashboards' OIDC client secret (a secret)."
    )
    dashboard_url: str = Field(
        default="http://localhost:8501",
        description="Where people reach the dashboards; the OIDC sign-in returns to "
        "<dashboard_url>/oauth2callback.",
    )
    api_rate_limit: str = Field(
        default="120/minute",
        description="Requests one employee may make to the HTTP API with their own token "
        "(the `limits` notation: N/second, N/minute, N/hour).",
    )
    api_key_rate_limit: str = Field(
        default="100/second", description="Requests one API key may make to the HTTP API."
    )
    otp_max_issued_per_hour: int = Field(
        default=5, gt=0, description="One-time codes one employee may be sent per rolling hour."
    )
    otp_max_failures_per_hour: int = Field(
        default=6,
        gt=0,
        description="Wrong one-time codes one employee may enter per rolling hour, across "
        "every interaction and channel; then codes are on hold for them.",
    )
    notifier: Literal["embedded", "smtp", "sms"] | None = Field(
        default=None,
        description="How codes, temporary passwords and approval requests reach people: "
        "'smtp' (e-mail), 'sms' (an SMS gateway with Twilio's Messages API), or 'embedded' "
        "(the demo enterprise's outbox). Unset: the outbox, on the embedded directory only.",
    )
    smtp_host: str = Field(default="", description="SMTP server for the 'smtp' notifier.")
    smtp_port: int = Field(default=587, gt=0, lt=65536, description="Its port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="'starttls' (port 587), 'tls' (implicit TLS, port 465), or 'none' "
        "(only for a relay on this machine).",
    )
    smtp_username: str = Field(default="", description="SMTP user, when it needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="Its password.")
    smtp_sender: str = Field(default="", description="The From address, e.g. it-help@example.com.")
    sms_api_url: str = Field(
        default="https://api.twilio.com",
        description="Base URL of the SMS gateway (Twilio's Messages API, or one that speaks it).",
    )
    sms_account_sid: str = Field(default="", description="The gateway's account SID.")
    sms_auth_token: SecretStr | None = Field(
        default=None, description="The gateway's auth token (a secret)."
    )
    sms_sender: str = Field(
        default="", description="The number (or messaging service SID) texts come from."
    )
    report_slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Slack incoming-webhook URL `unticket report` posts its summary to (a secret: "
        "never printed or logged); unset means the report is only written to a folder.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible endpoint of the company's own LLM (vLLM, Ollama, "
        "llama.cpp server, Azure OpenAI), e.g. http://127.0.0.1:11434/v1; unset (the default): "
        "no LLM, everything stays on this machine. https unless on loopback; no credentials in "
        "it (the key goes in llm_api_key).",
    )
    llm_model: str = Field(default="", description="The model the endpoint serves, by name.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="The endpoint's API key (a secret: never logged or recorded)."
    )
    llm_timeout_seconds: float = Field(
        default=3, gt=0, description="The longest one LLM call may take; no retries beyond it."
    )
    llm_cool_down_seconds: float = Field(
        default=60,
        gt=0,
        description="After a failed or timed-out call, the LLM is not asked for this long.",
    )
    llm_price_per_1k_input: float = Field(
        default=0, ge=0, description="Price of 1,000 input tokens, for cost figures."
    )
    llm_price_per_1k_output: float = Field(
        default=0, ge=0, description="Price of 1,000 output tokens, for cost figures."
    )
    llm_below_confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Ask the LLM only when the intent model's confidence is below this "
        "(unset: act_confidence).",
    )
    llm_max_confidence: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="The most confidence an LLM's understanding is given; it then goes through "
        "the same thresholds, policy, verification and approvals as the intent model's.",
    )

    @model_validator(mode="after")
    def _ldap_is_complete(self) -> Settings:
        """A directory on LDAP needs its server, service account and bases."""
        if self.directory == "ldap":
            needed = {
                "ldap_url": self.ldap_url,
                "ldap_bind_dn": self.ldap_bind_dn,
                "ldap_bind_password": self.ldap_bind_password,
                "ldap_people_base": self.ldap_people_base,
                "ldap_groups_base": self.ldap_groups_base,
            }
            missing = [name for name, value in needed.items() if not value]
            if missing:
                names = ", ".join(f"UNTICKET_{name.upper()}" for name in missing)
                raise ValueError(f"directory = 'ldap' also needs {names}")
        return self

    @model_validator(mode="after")
    def _notifier_is_complete(self) -> Settings:
        """A notifier needs its server and sender; the demo outbox reaches nobody real."""
        if self.notifier == "embedded" and self.directory != "embedded":
            raise ValueError(
                "notifier = 'embedded' is the demo enterprise's outbox and reaches nobody in a "
                "real directory: set UNTICKET_NOTIFIER to 'smtp' or 'sms'"
            )
        needed = {
            "smtp": {"smtp_host": self.smtp_host, "smtp_sender": self.smtp_sender},
            "sms": {
                "sms_account_sid": self.sms_account_sid,
                "sms_auth_token": self.sms_auth_token,
                "sms_sender": self.sms_sender,
            },
        }.get(self.notifier or "", {})
        missing = [name for name, value in needed.items() if not value]
        if missing:
            names = ", ".join(f"UNTICKET_{name.upper()}" for name in missing)
            raise ValueError(f"notifier = {self.notifier!r} also needs {names}")
        clear_text = self.notifier == "smtp" and self.smtp_security == "none"
        if clear_text and not is_loopback(self.smtp_host):
            raise ValueError(
                "smtp_security = 'none' would send codes and passwords in clear text: use "
                "'starttls' or 'tls' for a mail server on another machine"
            )
        url = urlsplit(self.sms_api_url)
        if self.notifier == "sms" and url.scheme != "https" and not is_loopback(url.hostname or ""):
            raise ValueError("sms_api_url must be https:// (http only for a gateway on this host)")
        return self

    @model_validator(mode="after")
    def _llm_is_complete(self) -> Settings:
        """An LLM endpoint needs its model, TLS off this machine, and no secret in its URL."""
        if not self.llm_base_url:
            return self
        if not self.llm_model:
            raise ValueError("llm_base_url also needs UNTICKET_LLM_MODEL")
        url = urlsplit(self.llm_base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("llm_base_url must be an http(s) URL, e.g. http://127.0.0.1:11434/v1")
        if url.username or url.password:
            raise ValueError(
                "llm_base_url must not carry credentials: set UNTICKET_LLM_API_KEY instead"
            )
        if url.scheme != "https" and not is_loopback(url.hostname):
            raise ValueError("llm_base_url must be https:// (http only for an LLM on this host)")
        return self

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> Settings:
        """Signing in to the dashboards needs the provider and the dashboards' client."""
        dashboard = {
            "oidc_client_id": self.oidc_client_id,
            "oidc_client_secret": self.oidc_client_secret,
        }
        if any(dashboard.values()) or self.oidc_audience:
            needed = {"oidc_issuer": self.oidc_issuer}
            if any(dashboard.values()):
                needed |= dashboard
            missing = [name for name, value in needed.items() if not value]
            if missing:
                names = ", ".join(f"UNTICKET_{name.upper()}" for name in missing)
                raise ValueError(f"OpenID Connect also needs {names}")
        return self

    @field_validator("api_rate_limit", "api_key_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        """A request rate in the `limits` notation, e.g. 120/minute or 100/second."""
        from limits import parse

        try:
            parse(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not a rate: write e.g. 120/minute") from error
        return value

    @field_validator("data_dir", "catalogue_dir", "mappings_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """Resolve relative paths from the project root, not the working directory."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments win, then the environment, then the TOML file."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return init_settings, env_settings, toml

    @property
    def events_dir(self) -> Path:
        """Folder of the append-only event log (JSON Lines, partitioned by date)."""
        return self.data_dir / "events"

    @property
    def state_db(self) -> Path:
        """SQLite file of the embedded enterprise: directory, approvals, tickets, conversations."""
        return self.data_dir / "enterprise.sqlite"

    @property
    def api_keys_db(self) -> Path:
        """SQLite file of the HTTP API's keys (only their hashes), mode 0600."""
        return self.data_dir / "api-keys.sqlite"

    @property
    def api_oidc_enabled(self) -> bool:
        """Whether the HTTP API accepts the OpenID Connect provider's tokens."""
        return bool(self.oidc_issuer and self.oidc_audience)

    @property
    def dashboard_sign_in_enabled(self) -> bool:
        """Whether the dashboards sign people in (else they run in demo mode, on loopback)."""
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    @property
    def models_dir(self) -> Path:
        """Folder of trained model artefacts and their metrics."""
        return self.data_dir / "models"

    @property
    def ticket_queue_db(self) -> Path:
        """SQLite queue of tickets waiting for an unreachable ITSM."""
        return self.data_dir / "ticket-queue.sqlite"

    @property
    def warehouse_path(self) -> Path:
        """The published DuckDB warehouse: what analysts, dashboards and reports read. It is
        only ever replaced whole, by an atomic rename, so readers never see half a build."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def work_warehouse_path(self) -> Path:
        """The pipelines' working copy of the warehouse: ingest, imports and builds write here,
        and a build that passes its quality checks is published from it."""
        return self.data_dir / "work" / "warehouse.duckdb"

    @property
    def ops_path(self) -> Path:
        """A small published DuckDB file with the latest pipeline runs, builds and data-quality
        results, republished after every run (also after one that did not publish)."""
        return self.data_dir / "ops.duckdb"

    @property
    def spark_dir(self) -> Path:
        """Everything a Spark build keeps: the sources it reads (Parquet), its warehouse of
        Parquet tables and its metastore."""
        return self.data_dir / "spark"

    @property
    def reports_dir(self) -> Path:
        """Folder of rendered reports."""
        return self.data_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
