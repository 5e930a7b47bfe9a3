"""Assemble a working engine from the settings: store, connectors, models, event log."""

from __future__ import annotations

from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from catalogue import Catalogue, cached_catalogue
from models.entities import Alias, EntityExtractor
from models.intents import load_or_train
from resolver.connectors.base import Directory, Notifier, Ticketing
from resolver.connectors.configured import (
    ConfigurationError,
    build_directory,
    build_notifier,
    build_ticketing,
)
from resolver.connectors.embedded import (
    EmbeddedApprovals,
    EmbeddedDirectory,
    EmbeddedNotifier,
    EmbeddedResources,
    EmbeddedSoftware,
    EmbeddedTicketing,
    EmbeddedVpn,
    EnterpriseStore,
)
from resolver.conversation import ConversationStore
from resolver.engine import Engine
from resolver.enterprise import generate_enterprise
from resolver.events import EventLog, IdFactory, random_ids
from resolver.knowledge import KnowledgeBase
from resolver.playbooks import Connectors
from resolver.routing import load_router
from resolver.understanding import Understander
from resolver.verification import Limits, OneTimeCodes
from settings import Settings

DEFAULT_EMPLOYEES = 2000
DEFAULT_SEED = 7


@dataclass
class Runtime:
    """A running engine and the embedded store behind it."""

    engine: Engine
    store: EnterpriseStore
    connectors: Connectors

    def close(self) -> None:
        """Release the event log, the connectors' connections and the store."""
        self.engine.log.close()
        connectors = self.connectors
        for connector in (connectors.directory, connectors.ticketing, connectors.notifier):
            close = getattr(connector, "close", None)
            if close is not None:
                close()
        self.store.close()


def embedded_connectors(
    store: EnterpriseStore,
    directory: Directory | None = None,
    ticketing: Ticketing | None = None,
    notifier: Notifier | None = None,
) -> Connectors:
    """Connectors backed by the local enterprise store, except for a directory, ticketing
    system or notifier given here (OpenLDAP, ServiceNow, Jira, SMTP, SMS)."""
    directory = directory or EmbeddedDirectory(store)
    return Connectors(
        directory=directory,
        resources=EmbeddedResources(store),
        software=EmbeddedSoftware(store),
        vpn=EmbeddedVpn(store, directory),
        ticketing=ticketing or EmbeddedTicketing(store),
        notifier=notifier or EmbeddedNotifier(store, directory),
        approvals=EmbeddedApprovals(store),
    )


def create_enterprise(settings: Settings, employees: int, seed: int) -> int:
    """Generate the demo enterprise into the data dir's empty store; return its size."""
    store = EnterpriseStore(settings.state_db)
    try:
        enterprise = cached_catalogue(settings.catalogue_dir).enterprise
        return generate_enterprise(store, enterprise, employees, seed)
    finally:
        store.close()


def ensure_enterprise(store: EnterpriseStore, catalogue: Catalogue) -> bool:
    """Generate the default demo enterprise into an empty store; return whether it did."""
    if not store.is_empty():
        return False
    generate_enterprise(store, catalogue.enterprise, DEFAULT_EMPLOYEES, DEFAULT_SEED)
    return True


def build_understander(
    catalogue: Catalogue, store: EnterpriseStore, settings: Settings
) -> Understander:
    """Train (or load) the intent model and build the entity extractor from the enterprise."""
    classifier = load_or_train(catalogue.examples, settings.models_dir)
    aliases = [
        Alias(kind, item_id, alias) for kind, item_id, alias in EmbeddedResources(store).aliases()
    ]
    entity_types = {i.id: set(i.entities) for i in catalogue.intents.values()}
    return Understander(classifier, EntityExtractor(aliases), entity_types)


def build_runtime(settings: Settings, ids: IdFactory = random_ids) -> Runtime:
    """Build the engine on the embedded enterprise in `settings.data_dir`.

    The engine's matrix products are tiny (one message against a model), so BLAS runs them on
    the calling thread: handing them to worker threads, which then spin waiting for more,
    costs more than it saves and takes a core from the turns and fsyncs.
    """
    catalogue = cached_catalogue(settings.catalogue_dir)
    store = EnterpriseStore(settings.state_db)
    ensure_enterprise(store, catalogue)
    directory = build_directory(settings, catalogue, store)
    try:
        notifier = build_notifier(settings, store, directory)
    except ConfigurationError:
        store.close()
        raise
    ticketing = build_ticketing(settings, store, directory)
    connectors = embedded_connectors(store, directory, ticketing, notifier)
    engine = Engine(
        settings=settings,
        catalogue=catalogue,
        understander=build_understander(catalogue, store, settings),
        knowledge=KnowledgeBase(catalogue.articles, background=catalogue.background_texts()),
        connectors=connectors,
        conversations=ConversationStore(store),
        codes=OneTimeCodes(
            store,
            connectors.notifier,
            settings.otp_ttl_seconds,
            settings.otp_max_attempts,
            Limits(settings.otp_max_issued_per_hour, settings.otp_max_failures_per_hour),
        ),
        log=EventLog(settings.events_dir, fsync=settings.events_fsync == "always"),
        ids=ids,
        router=load_router(settings.models_dir),  # the categoriser, when one was trained
    )
    threadpool_limits(limits=1, user_api="blas")
    return Runtime(engine=engine, store=store, connectors=connectors)
