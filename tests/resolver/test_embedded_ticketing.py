"""The embedded ticket queue keeps how a ticket was fixed, across a reopened store and a store
file from before resolutions were kept."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from resolver.connectors.base import ConnectorError, Resolution, TicketRequest
from resolver.connectors.embedded import EmbeddedTicketing, EnterpriseStore
from resolver.ticket_sync import TicketSyncState
from tests.conftest import NOW

FIX = Resolution(
    "Reset pwd in AD, must change at next logon.", "Access / Password", "Service Desk L1"
)


def request(interaction_id: str = "i-1") -> TicketRequest:
    """A typical escalation."""
    return TicketRequest(
        "E000001", "Password reset: locked out", "context", None, "P3", interaction_id
    )


def test_a_resolution_is_stored_with_the_ticket_and_survives_a_reopened_store(
    tmp_path: Path,
) -> None:
    store = EnterpriseStore(tmp_path / "enterprise.sqlite")
    tickets = EmbeddedTicketing(store)
    opened = tickets.open_ticket(request(), NOW)
    assert opened.resolution is None

    resolved = tickets.set_status(opened.ticket_id, "resolved", NOW + timedelta(hours=2), FIX)
    assert (resolved.status, resolved.resolution) == ("resolved", FIX)
    closed = tickets.set_status(opened.ticket_id, "closed", NOW + timedelta(days=3))
    assert closed.resolution == FIX  # closing without a resolution keeps the one it has
    store.close()

    reopened = EnterpriseStore(tmp_path / "enterprise.sqlite")
    again = EmbeddedTicketing(reopened).get_ticket(opened.ticket_id)
    assert again is not None and again.resolution == FIX
    assert again.updated_at == NOW + timedelta(days=3)
    reopened.close()


def test_reopening_clears_the_resolution_and_it_goes_only_with_resolved_or_closed(
    tmp_path: Path,
) -> None:
    store = EnterpriseStore(tmp_path / "enterprise.sqlite")
    tickets = EmbeddedTicketing(store)
    ticket = tickets.open_ticket(request(), NOW)
    tickets.set_status(ticket.ticket_id, "resolved", NOW, FIX)
    assert tickets.set_status(ticket.ticket_id, "in_progress", NOW).resolution is None
    with pytest.raises(ConnectorError, match="goes with resolved or closed"):
        tickets.set_status(ticket.ticket_id, "on_hold", NOW, FIX)
    without_note = Resolution("", "Duplicate", None)
    assert tickets.set_status(ticket.ticket_id, "closed", NOW, without_note).resolution == (
        without_note
    )
    store.close()


def test_changed_since_returns_the_tickets_updated_from_then_oldest_first(tmp_path: Path) -> None:
    store = EnterpriseStore(tmp_path / "enterprise.sqlite")
    tickets = EmbeddedTicketing(store)
    first = tickets.open_ticket(request("i-1"), NOW)
    second = tickets.open_ticket(request("i-2"), NOW + timedelta(minutes=1))
    tickets.set_status(first.ticket_id, "resolved", NOW + timedelta(hours=1), FIX)
    changed = tickets.changed_since(NOW + timedelta(minutes=1))
    assert [t.ticket_id for t in changed] == [second.ticket_id, first.ticket_id]
    assert changed[1].resolution == FIX
    assert tickets.changed_since(NOW + timedelta(hours=2)) == []
    store.close()


def test_a_store_file_from_before_resolutions_gains_them_and_keeps_its_tickets(
    tmp_path: Path,
) -> None:
    path = tmp_path / "enterprise.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        create table tickets (
            seq integer primary key autoincrement, ticket_id text unique, requester_id text,
            title text not null, description text not null, status text not null,
            priority text not null, intent text, interaction_id text, service text,
            opened_at text not null, updated_at text not null
        );
        insert into tickets values (1, 'INC0000001', 'E000001', 'VPN down', 'context',
            'resolved', 'P3', 'vpn_issue', 'i-1', null, '2026-11-02T09:30:00.000Z',
            '2026-11-02T11:00:00.000Z');
        insert into tickets values (2, 'INC0000002', 'E000002', 'Printer', 'context',
            'new', 'P4', 'printer_issue', 'i-2', null, '2026-11-02T09:40:00.000Z',
            '2026-11-02T09:40:00.000Z');
        """
    )
    old.close()

    store = EnterpriseStore(path)
    tickets = EmbeddedTicketing(store)
    resolved = tickets.get_ticket("INC0000001")
    assert resolved is not None and (resolved.status, resolved.resolution) == ("resolved", None)
    assert tickets.set_status("INC0000002", "resolved", NOW, FIX).resolution == FIX
    # every move of an embedded ticket so far was logged: the sync starts from those statuses
    state = TicketSyncState(store)
    assert state.last_status("INC0000001") == "resolved"
    assert state.last_status("INC0000002") == "resolved"
    assert state.last_status("INC0000003") == "new"
    store.close()
    EnterpriseStore(path).close()  # opening it again adds nothing twice
