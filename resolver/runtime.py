"""Assemble a working engine from the settings: store, connectors, models, event log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from catalogue import Catalogue, cached_catalogue
from models.entities import Alias, EntityExtractor
from models.kept_intents import load_current
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
from resolver.learned import with_learned_articles
from resolver.llm import LlmProvider
from resolver.playbooks import Connectors
from resolver.routing import load_router
from resolver.understanding import LlmFallback, Understander
from resolver.verification import Limits, OneTimeCodes
from settings import Settings

DEFAULT_EMPLOYEES = 2000
DEFAULT_SEED = 7


@dataclass
class Runtime:
    """A running engine, the embedded store behind it and, when configured, the LLM provider."""

    engine: Engine
    store: EnterpriseStore
    connectors: Connectors
    llm: LlmProvider | None = None

    def close(self) -> None:
        """Release the event log, the connectors' connections, the LLM provider and the store."""
        self.engine.log.close()
        if self.llm is not None:
            self.llm.close()
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
    catalogue: Catalogue,
    store: EnterpriseStore,
    settings: Settings,
    llm: LlmProvider | None = None,
) -> Understander:
    """Train (or load) the intent model and build the entity extractor from the enterprise;
    with an LLM provider, messages the model is unsure of are put to it too."""
    classifier = load_current(catalogue.examples, settings.models_dir)  # the kept model, if any
    aliases = [
        Alias(kind, item_id, alias) for kind, item_id, alias in EmbeddedResources(store).aliases()
    ]
    entity_types = {i.id: set(i.entities) for i in catalogue.intents.values()}
    fallback = None
    if llm is not None:
        fallback = LlmFallback(
            llm,
            catalogue.intents.values(),
            below_confidence=llm_below_confidence(settings),
            max_confidence=settings.llm_max_confidence,
        )
    return Understander(classifier, EntityExtractor(aliases), entity_types, fallback)


def llm_below_confidence(settings: Settings) -> float:
    """The intent confidence below which the LLM is asked (by default, the act threshold)."""
    if settings.llm_below_confidence is None:
        return settings.act_confidence
    return settings.llm_below_confidence


@contextmanager
def open_understander(settings: Settings) -> Iterator[Understander]:
    """The engine's understanding alone (intent model, the enterprise's aliases, the LLM
    provider when configured), for evaluations; released when the block ends."""
    catalogue = cached_catalogue(settings.catalogue_dir)
    store = EnterpriseStore(settings.state_db)
    llm = LlmProvider.from_settings(settings)
    try:
        ensure_enterprise(store, catalogue)
        yield build_understander(catalogue, store, settings, llm)
    finally:
        if llm is not None:
            llm.close()
        store.close()


def build_runtime(settings: Settings, ids: IdFactory = random_ids) -> Runtime:
    """Build the engine on the embedded enterprise in `settings.data_dir`.

    The engine's matrix products are tiny (one message against a model), so BLAS runs them on
    the calling thread: handing them to worker threads, which then spin waiting for more,
    costs more than it saves and takes a core from the turns and fsyncs.
    """
    catalogue = with_learned_articles(cached_catalogue(settings.catalogue_dir), settings.data_dir)
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
    llm = LlmProvider.from_settings(settings)  # None unless llm_base_url is set
    engine = Engine(
        settings=settings,
        catalogue=catalogue,
        understander=build_understander(catalogue, store, settings, llm),
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
        llm=llm,
    )
    threadpool_limits(limits=1, user_api="blas")
    return Runtime(engine=engine, store=store, connectors=connectors, llm=llm)
