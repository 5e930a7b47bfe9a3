"""The directory and ticketing systems the settings choose: embedded by default, or OpenLDAP,
ServiceNow and Jira Service Management behind the same interfaces."""

from __future__ import annotations

from datetime import timedelta

from catalogue import Catalogue
from resolver.connectors.base import Directory, Notifier, Ticketing
from resolver.connectors.embedded import (
    EmbeddedDirectory,
    EmbeddedNotifier,
    EmbeddedTicketing,
    EnterpriseStore,
)
from settings import Settings

NO_NOTIFIER = (
    "a real directory needs a way to reach people with codes and temporary passwords: set "
    "UNTICKET_NOTIFIER=smtp (with UNTICKET_SMTP_HOST and UNTICKET_SMTP_SENDER) or "
    "UNTICKET_NOTIFIER=sms (with UNTICKET_SMS_ACCOUNT_SID, UNTICKET_SMS_AUTH_TOKEN and "
    "UNTICKET_SMS_SENDER)"
)


class ConfigurationError(ValueError):
    """Settings that cannot run the engine safely; the message says what to set."""


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


def build_directory(settings: Settings, catalogue: Catalogue, store: EnterpriseStore) -> Directory:
    """The embedded directory, or the LDAP server the settings name."""
    if settings.directory == "embedded":
        return EmbeddedDirectory(store)
    from resolver.connectors.ldap import LdapAttributes, LdapConfig, LdapDirectory

    config = LdapConfig(
        url=settings.ldap_url,
        bind_dn=settings.ldap_bind_dn,
        bind_password=settings.ldap_bind_password,
        people_base=settings.ldap_people_base,
        groups_base=settings.ldap_groups_base,
        attributes=LdapAttributes(**settings.ldap_attributes),
        default_hourly_cost=float(catalogue.costs["default_loaded_hourly_cost"]),
        mfa_attributes=tuple(settings.ldap_mfa_attributes),
        mfa_object_classes=tuple(settings.ldap_mfa_object_classes),
        lockout_duration=timedelta(minutes=settings.ldap_lockout_duration_minutes) or None,
        start_tls=settings.ldap_start_tls,
        timeout_seconds=settings.ldap_timeout_seconds,
    )
    return LdapDirectory(config)


def build_ticketing(settings: Settings, store: EnterpriseStore, directory: Directory) -> Ticketing:
    """The embedded queue, or ServiceNow / Jira wrapped in a durable retry queue."""
    if settings.ticketing == "embedded":
        return EmbeddedTicketing(store)
    from resolver.connectors.queued import QueuedTicketing

    return QueuedTicketing(_itsm(settings, directory), settings.ticket_queue_db)


def _itsm(settings: Settings, directory: Directory) -> Ticketing:
    timeout = settings.ticketing_timeout_seconds
    if settings.ticketing == "servicenow":
        from resolver.connectors.servicenow import ServiceNowTicketing, servicenow_auth

        auth = servicenow_auth(
            settings.servicenow_user or None,
            _secret(settings.servicenow_password) or None,
            _secret(settings.servicenow_token) or None,
        )
        return ServiceNowTicketing(settings.servicenow_url, auth, directory, timeout=timeout)
    from resolver.connectors.jira import JiraServiceManagementTicketing

    return JiraServiceManagementTicketing(
        settings.jira_url,
        settings.jira_email,
        _secret(settings.jira_api_token),
        directory,
        service_desk_id=settings.jira_service_desk_id,
        request_type_id=settings.jira_request_type_id,
        project_key=settings.jira_project_key,
        timeout=timeout,
    )


def build_notifier(settings: Settings, store: EnterpriseStore, directory: Directory) -> Notifier:
    """E-mail or SMS as the settings say; the demo outbox only for the embedded directory."""
    if settings.notifier == "smtp":
        from resolver.connectors.notifiers import SmtpNotifier

        return SmtpNotifier(
            directory,
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=_secret(settings.smtp_password),
        )
    if settings.notifier == "sms":
        from resolver.connectors.notifiers import SmsNotifier

        return SmsNotifier(
            directory,
            api_url=settings.sms_api_url,
            account_sid=settings.sms_account_sid,
            auth_token=_secret(settings.sms_auth_token),
            sender=settings.sms_sender,
        )
    if settings.directory != "embedded":
        raise ConfigurationError(NO_NOTIFIER)
    return EmbeddedNotifier(store, directory)
