"""A real OpenLDAP server for tests, run as a child process in a temporary folder.

`start_slapd(folder)` writes a `slapd.conf` (mdb database, the ppolicy overlay with lock-out
after `max_failure` bad binds and server-side hashing of clear-text passwords, the memberof
overlay, the otp module for its MFA token attributes), seeds the directory with `slapadd`,
starts `slapd -h ldap://127.0.0.1:PORT/ -d 0` on a free port and waits until it accepts a bind.
`slapadd` bypasses overlays, so people get no password and groups no members there:
`seed_over_ldap` adds those over LDAP once the server runs, so they are hashed and `memberOf`
is maintained like in production.

Install the server with `make test` (or: apt-get install slapd ldap-utils).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ldap3 import MODIFY_DELETE, MODIFY_REPLACE, Connection, Server
from ldap3.core.exceptions import LDAPException
from pydantic import SecretStr

from resolver.connectors.ldap import LdapConfig

SBIN = Path("/usr/sbin")
SUFFIX = "dc=unticket,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=unticket,ou=services,{SUFFIX}"
PEOPLE_DN = f"ou=people,{SUFFIX}"
GROUPS_DN = f"ou=groups,{SUFFIX}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
TOKENS_DN = f"ou=tokens,{SUFFIX}"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class SeedPerson:
    """One employee of the test directory."""

    uid: str
    employee_id: str
    name: str
    manager_uid: str | None = None
    groups: tuple[str, ...] = ()
    mfa_token: bool = False

    @property
    def dn(self) -> str:
        """The person's entry."""
        return f"uid={self.uid},{PEOPLE_DN}"

    @property
    def password(self) -> str:
        """The password `seed_over_ldap` gives them."""
        return f"Initial-{self.uid}-Pw1!"


PEOPLE = (
    SeedPerson("ada", "E000001", "Ada Lovelace", groups=("vpn-users", "finance-share")),
    SeedPerson("bob", "E000002", "Bob Marley", "ada", groups=("vpn-users",), mfa_token=True),
    SeedPerson("cy", "E000003", "Cy Twombly", "ada"),
    SeedPerson("dee", "E000004", "Dee Dee Ramone", "bob"),
    SeedPerson("eve", "E000005", "Eve Arden", "bob"),
)
GROUPS = ("vpn-users", "finance-share", "app-zoom")


@dataclass
class SlapdServer:
    """A running slapd; `stop` ends it."""

    url: str
    folder: Path
    process: subprocess.Popen
    admin_password: str = field(repr=False)
    service_password: str = field(repr=False)

    def admin(self) -> Connection:
        """A bound connection as the root DN (not subject to ACLs or password policy)."""
        return Connection(
            Server(self.url), ADMIN_DN, self.admin_password, auto_bind=True, raise_exceptions=True
        )

    def restart(self) -> None:
        """Stop the server and start it again on the same port and data."""
        self.stop()
        self.process = _launch(self.folder, self.url)
        _wait_for_bind(self)

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def slapd_missing() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    for program in ("slapd", "slapadd"):
        if not (SBIN / program).exists() and shutil.which(program) is None:
            return f"{program} is not installed (make test installs it: slapd, ldap-utils)"
    return None


def ssha(password: str) -> str:
    """Hash a password the way OpenLDAP's {SSHA} scheme stores it."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _config(folder: Path, admin_password: str) -> str:
    return f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload memberof
moduleload otp
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
password-hash {{SSHA}}

database mdb
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ssha(admin_password)}
directory {folder}/db
maxsize 104857600
index objectClass eq
index uid,mail,employeeNumber,cn eq
index member eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay ppolicy
ppolicy_default "{POLICY_DN}"
ppolicy_hash_cleartext
ppolicy_use_lockout

access to attrs=userPassword
    by dn.exact="{SERVICE_DN}" write
    by self write
    by anonymous auth
    by * none
access to *
    by dn.exact="{SERVICE_DN}" write
    by users read
    by * none
"""


def _seed_ldif(service_password: str, max_failure: int) -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: unticket\n"
        "o: Unticket Test",
        *(
            f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}"
            for ou in ("people", "groups", "services", "policies", "tokens")
        ),
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: unticket\nuserPassword: {ssha(service_password)}",
        f"dn: {POLICY_DN}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n"
        f"pwdAttribute: userPassword\npwdMaxFailure: {max_failure}\npwdLockout: TRUE\n"
        "pwdLockoutDuration: 0\npwdFailureCountInterval: 0\npwdMustChange: TRUE\n"
        "pwdAllowUserChange: TRUE\npwdSafeModify: FALSE",
    ]
    for person in PEOPLE:
        lines = [
            f"dn: {person.dn}",
            "objectClass: inetOrgPerson",
            f"uid: {person.uid}",
            f"cn: {person.name}",
            f"sn: {person.name.split()[-1]}",
            f"employeeNumber: {person.employee_id}",
            f"mail: {person.uid}@unticket.test",
            "departmentNumber: Engineering",
            "l: London",
            "title: Engineer",
            f"mobile: +44 7700 9000{person.employee_id[-2:]}",
        ]
        if person.manager_uid:
            lines.append(f"manager: uid={person.manager_uid},{PEOPLE_DN}")
        if person.mfa_token:
            lines += ["objectClass: oathTOTPUser", f"oathTOTPToken: cn={person.uid},{TOKENS_DN}"]
            entries.append(
                f"dn: cn={person.uid},{TOKENS_DN}\nobjectClass: oathTOTPToken\n"
                f"objectClass: device\ncn: {person.uid}\noathSecret:: "
                + base64.b64encode(secrets.token_bytes(20)).decode()
            )
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _program(name: str) -> str:
    return str(SBIN / name) if (SBIN / name).exists() else name


def _wait_for_bind(server: SlapdServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            log = (server.folder / "slapd.log").read_text()[-2000:]
            raise RuntimeError(f"slapd exited with {server.process.returncode}: {log}")
        try:
            server.admin().unbind()
            return
        except LDAPException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _launch(folder: Path, url: str) -> subprocess.Popen:
    with (folder / "slapd.log").open("ab") as log:
        return subprocess.Popen(
            [_program("slapd"), "-f", str(folder / "slapd.conf"), "-h", f"{url}/", "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LC_ALL": "C"},
        )


def start_slapd(folder: Path, max_failure: int = 3) -> SlapdServer:
    """Configure, seed and start a server in `folder`; return once it accepts binds."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir()
    admin_password, service_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    conf = folder / "slapd.conf"
    conf.write_text(_config(folder, admin_password))
    (folder / "seed.ldif").write_text(_seed_ldif(service_password, max_failure))
    subprocess.run(
        [_program("slapadd"), "-f", str(conf), "-l", str(folder / "seed.ldif")],
        check=True,
        capture_output=True,
    )
    url = f"ldap://127.0.0.1:{_free_port()}"
    server = SlapdServer(url, folder, _launch(folder, url), admin_password, service_password)
    try:
        _wait_for_bind(server)
    except BaseException:
        server.stop()
        raise
    return server


def seed_over_ldap(server: SlapdServer) -> None:
    """Give people their passwords (hashed by the server) and groups their members."""
    connection = server.admin()
    try:
        for person in PEOPLE:  # an administrator's change sets pwdReset: clear it
            connection.modify(person.dn, {"userPassword": [(MODIFY_REPLACE, [person.password])]})
            connection.modify(person.dn, {"pwdReset": [(MODIFY_DELETE, [])]})
        for group in GROUPS:
            members = [p.dn for p in PEOPLE if group in p.groups] or [SERVICE_DN]
            connection.add(
                f"cn={group},{GROUPS_DN}", "groupOfNames", {"cn": group, "member": members}
            )
    finally:
        connection.unbind()


def connector_config(server: SlapdServer, **overrides: object) -> LdapConfig:
    """The LDAP connector's configuration for this server, as Unticket's service account."""
    values: dict = {
        "url": server.url,
        "bind_dn": SERVICE_DN,
        "bind_password": SecretStr(server.service_password),
        "people_base": PEOPLE_DN,
        "groups_base": GROUPS_DN,
        "mfa_attributes": ("oathTOTPToken",),
        "mfa_object_classes": ("oathTOTPUser",),
        "timeout_seconds": 2,
    }
    return LdapConfig(**{**values, **overrides})


def binds(server: SlapdServer, dn: str, password: str) -> bool:
    """Whether a simple bind with these credentials succeeds."""
    connection = Connection(Server(server.url), dn, password)
    try:
        return connection.bind()
    finally:
        connection.unbind()


def lock_out(server: SlapdServer, dn: str, max_failure: int) -> None:
    """Fail binds until the password policy locks the account."""
    for attempt in range(max_failure):
        assert not binds(server, dn, f"wrong-{attempt}")
