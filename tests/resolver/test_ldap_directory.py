"""LdapDirectory against a real OpenLDAP server (slapd with ppolicy and memberof, see slapd.py).

The tests share one server; none depends on what another one changed, so their order is free.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ldap3 import BASE, MODIFY_DELETE, MODIFY_REPLACE
from ldap3.utils.log import (
    BASIC,
    EXTENDED,
    OFF,
    get_library_log_detail_level,
    set_library_log_detail_level,
)
from pydantic import SecretStr

from resolver.connectors.base import ConnectorError, Person
from resolver.connectors.ldap import (
    ADMIN_LOCK,
    LdapAttributes,
    LdapDirectory,
    generalized_time,
    parse_generalized_time,
)
from tests.slapd import (
    GROUPS_DN,
    PEOPLE,
    SlapdServer,
    binds,
    connector_config,
    lock_out,
    seed_over_ldap,
    slapd_missing,
    start_slapd,
)

ADA, BOB, CY, DEE, EVE = PEOPLE
MAX_FAILURE = 3


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """One seeded server for the module."""
    if reason := slapd_missing():
        pytest.fail(reason)
    server = start_slapd(tmp_path_factory.mktemp("slapd"), max_failure=MAX_FAILURE)
    try:
        seed_over_ldap(server)
        yield server
    finally:
        server.stop()


@pytest.fixture
def directory(slapd: SlapdServer) -> Iterator[LdapDirectory]:
    """A connected directory."""
    built = LdapDirectory(connector_config(slapd))
    yield built
    built.close()


def read(server: SlapdServer, dn: str, *attributes: str) -> dict:
    """Attributes of an entry, operational ones included, read as the root DN."""
    admin = server.admin()
    admin.search(dn, "(objectClass=*)", BASE, attributes=list(attributes))
    found = dict(admin.response[0]["raw_attributes"])
    admin.unbind()
    return {k: [v.decode() for v in values] for k, values in found.items() if values}


def test_people_are_found_by_employee_id_username_or_email(directory: LdapDirectory) -> None:
    for ref in ("E000002", "e000002", "bob", "BOB", "bob@unticket.test", " bob "):
        person = directory.find_person(ref)
        assert person is not None and person.employee_id == "E000002", ref
    assert directory.find_person("nobody") is None
    assert directory.find_person("*") is None  # a filter wildcard is escaped, not matched
    assert directory.find_person("") is None
    assert directory.get_person("E000002") == Person(
        employee_id="E000002",
        username="bob",
        email="bob@unticket.test",
        name="Bob Marley",
        department="Engineering",
        location="London",
        title="Engineer",
        manager_id="E000001",
        hourly_cost=65.0,
        mobile="+44 7700 900002",
    )
    assert directory.get_person("E999999") is None
    manager = directory.manager_of("E000004")
    assert manager is not None and manager.username == "bob"
    assert directory.manager_of("E000001") is None


def test_hourly_cost_comes_from_an_attribute_when_configured(slapd: SlapdServer) -> None:
    admin = slapd.admin()
    admin.modify(ADA.dn, {"roomNumber": [(MODIFY_REPLACE, ["88.5"])]})
    admin.unbind()
    fields = LdapAttributes(hourly_cost="roomNumber")
    directory = LdapDirectory(connector_config(slapd, attributes=fields, default_hourly_cost=40.0))
    try:
        assert directory.get_person(ADA.employee_id).hourly_cost == 88.5  # type: ignore[union-attr]
        assert directory.get_person(BOB.employee_id).hourly_cost == 40.0  # type: ignore[union-attr]
    finally:
        directory.close()


def test_reset_password_sets_a_hashed_temporary_password_that_must_be_changed(
    slapd: SlapdServer, directory: LdapDirectory
) -> None:
    assert binds(slapd, CY.dn, CY.password)
    temporary = directory.reset_password(CY.employee_id)
    assert len(temporary) == 16
    assert not binds(slapd, CY.dn, CY.password)
    assert binds(slapd, CY.dn, temporary)
    stored = read(slapd, CY.dn, "userPassword", "pwdReset")
    assert stored["pwdReset"] == ["TRUE"]
    assert stored["userPassword"][0].startswith("{SSHA}")
    assert temporary not in stored["userPassword"][0]
    assert directory.reset_password(CY.employee_id) != temporary


def test_lockout_is_detected_and_unlock_lets_the_person_sign_in(
    slapd: SlapdServer, directory: LdapDirectory
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert not directory.is_locked(DEE.employee_id)
    lock_out(slapd, DEE.dn, MAX_FAILURE)
    assert not binds(slapd, DEE.dn, DEE.password)  # the right password is refused too
    assert directory.is_locked(DEE.employee_id)
    locks = dict(directory.locked_accounts())
    assert before <= locks[DEE.employee_id] <= datetime.now(UTC)
    assert DEE.employee_id in dict(directory.locked_accounts(since=before))
    assert directory.locked_accounts(since=datetime.now(UTC) + timedelta(hours=1)) == []

    assert directory.unlock_account(DEE.employee_id) is True
    assert not directory.is_locked(DEE.employee_id)
    assert read(slapd, DEE.dn, "pwdAccountLockedTime", "pwdFailureTime") == {}
    assert binds(slapd, DEE.dn, DEE.password)
    assert directory.unlock_account(DEE.employee_id) is False
    assert DEE.employee_id not in dict(directory.locked_accounts())


def test_an_administrators_lock_is_not_lifted_by_self_service(
    slapd: SlapdServer, directory: LdapDirectory
) -> None:
    admin = slapd.admin()
    admin.modify(ADA.dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [ADMIN_LOCK])]})
    try:
        assert directory.is_locked(ADA.employee_id)
        assert ADA.employee_id not in dict(directory.locked_accounts())
        with pytest.raises(ConnectorError, match="locked by an administrator"):
            directory.unlock_account(ADA.employee_id)
        assert not binds(slapd, ADA.dn, ADA.password)
    finally:
        admin.modify(ADA.dn, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})
        admin.unbind()


def test_a_lock_older_than_the_lockout_duration_has_expired(slapd: SlapdServer) -> None:
    old = generalized_time(datetime.now(UTC) - timedelta(hours=2))
    admin = slapd.admin()
    admin.modify(ADA.dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [old])]})
    expiring = LdapDirectory(connector_config(slapd, lockout_duration=timedelta(hours=1)))
    lasting = LdapDirectory(connector_config(slapd))
    try:
        assert not expiring.is_locked(ADA.employee_id)
        assert expiring.locked_accounts() == []
        assert lasting.is_locked(ADA.employee_id)
        assert dict(lasting.locked_accounts())[ADA.employee_id] == parse_generalized_time(old)
    finally:
        admin.modify(ADA.dn, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})
        admin.unbind()
        expiring.close()
        lasting.close()


def test_add_to_group_adds_once_and_groups_follow(
    slapd: SlapdServer, directory: LdapDirectory
) -> None:
    assert directory.groups_of(BOB.employee_id) == ["vpn-users"]
    assert directory.add_to_group(BOB.employee_id, "app-zoom") is True
    assert directory.add_to_group(BOB.employee_id, "app-zoom") is False
    assert directory.groups_of(BOB.employee_id) == ["app-zoom", "vpn-users"]
    member_of = read(slapd, BOB.dn, "memberOf")["memberOf"]  # the overlay keeps it in step
    assert f"cn=app-zoom,{GROUPS_DN}" in member_of
    with pytest.raises(ConnectorError, match="no group nope"):
        directory.add_to_group(BOB.employee_id, "nope")


def test_reset_mfa_removes_the_token_link_or_calls_the_callback(
    slapd: SlapdServer, directory: LdapDirectory
) -> None:
    assert read(slapd, BOB.dn, "oathTOTPToken")
    directory.reset_mfa(BOB.employee_id)
    assert read(slapd, BOB.dn, "oathTOTPToken") == {}
    assert read(slapd, BOB.dn, "objectClass")["objectClass"] == ["inetOrgPerson"]
    directory.reset_mfa(BOB.employee_id)  # nothing enrolled: nothing to remove

    called: list[Person] = []
    with_callback = LdapDirectory(connector_config(slapd), mfa_reset=called.append)
    unconfigured = LdapDirectory(connector_config(slapd, mfa_attributes=()))
    try:
        with_callback.reset_mfa(CY.employee_id)
        assert [p.employee_id for p in called] == [CY.employee_id]
        with pytest.raises(ConnectorError, match="MFA reset is not configured"):
            unconfigured.reset_mfa(CY.employee_id)
    finally:
        with_callback.close()
        unconfigured.close()


def test_errors_become_connector_errors(slapd: SlapdServer, directory: LdapDirectory) -> None:
    for call in (
        directory.reset_password,
        directory.unlock_account,
        directory.is_locked,
        directory.reset_mfa,
        directory.groups_of,
    ):
        with pytest.raises(ConnectorError, match="no account for E999999"):
            call("E999999")
    down = LdapDirectory(connector_config(slapd, url="ldap://127.0.0.1:9", timeout_seconds=1))
    with pytest.raises(ConnectorError, match="could not look people up"):
        down.find_person("bob")


def test_a_restarted_server_is_reconnected_to(slapd: SlapdServer) -> None:
    directory = LdapDirectory(connector_config(slapd))
    try:
        assert directory.find_person("ada") is not None
        slapd.restart()
        assert directory.find_person("ada") is not None
    finally:
        directory.close()


def test_secrets_never_reach_logs_or_errors(
    slapd: SlapdServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    set_library_log_detail_level(EXTENDED)  # ldap3's own logging, as detailed as it goes
    try:
        directory = LdapDirectory(connector_config(slapd))
        temporary = directory.reset_password(EVE.employee_id)  # caps ldap3's log detail
        assert get_library_log_detail_level() == BASIC
        directory.unlock_account(EVE.employee_id)
        directory.close()
        wrong = LdapDirectory(connector_config(slapd, bind_password=SecretStr("Wr0ng-S3cret!")))
        with pytest.raises(ConnectorError, match="invalidCredentials") as raised:
            wrong.find_person("bob")
    finally:
        set_library_log_detail_level(OFF)
    assert "temporary password set for E000005" in caplog.text
    error_text = "".join(traceback.format_exception(raised.value))
    for secret in (slapd.service_password, "Wr0ng-S3cret!", temporary):
        assert secret not in caplog.text
        assert secret not in error_text
        assert secret not in repr(connector_config(slapd))


def test_settings_choose_the_ldap_directory_for_the_engine(
    slapd: SlapdServer, tmp_path: Path
) -> None:
    from catalogue import cached_catalogue
    from resolver.connectors.configured import build_directory
    from resolver.connectors.embedded import EnterpriseStore
    from settings import Settings
    from tests.slapd import GROUPS_DN, PEOPLE_DN, SERVICE_DN

    settings = Settings(
        data_dir=tmp_path,
        directory="ldap",
        ldap_url=slapd.url,
        ldap_bind_dn=SERVICE_DN,
        ldap_bind_password=slapd.service_password,
        ldap_people_base=PEOPLE_DN,
        ldap_groups_base=GROUPS_DN,
    )
    store = EnterpriseStore(settings.state_db)
    chosen = build_directory(settings, cached_catalogue(settings.catalogue_dir), store)
    try:
        assert isinstance(chosen, LdapDirectory)
        assert chosen.find_person("bob@unticket.test").employee_id == "E000002"
    finally:
        chosen.close()
        store.close()
