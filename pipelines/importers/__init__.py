"""Ticket-history importers: ServiceNow exports, IEEE XES event logs, any CSV through a YAML
mapping, and the employee roster. Each loads the warehouse's `raw` tables in one transaction
(see `common`), so a failed import leaves the warehouse unchanged."""
