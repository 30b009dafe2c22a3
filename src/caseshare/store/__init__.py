"""Storage: one store interface over SQLite and PostgreSQL; the store owns transactions."""

from __future__ import annotations

import os

from caseshare.store.accounts import AccountStore, SessionRow, TokenRow
from caseshare.store.agencyshares import AgencyShareRow, AgencyShareStore
from caseshare.store.agreements import AgreementRow, AgreementStore
from caseshare.store.audit import AuditEvent, AuditStore
from caseshare.store.caselist import CaseFilter, CaseListStore
from caseshare.store.cases import CaseStore, GrantRow
from caseshare.store.outbox import OutboxRow, OutboxStore
from caseshare.store.oversight import AuditQuery, BinnedCase, FormSummary, OversightStore
from caseshare.store.personal import PersonalStore
from caseshare.store.structure import StructureStore
from caseshare.store.submissions import SubmissionRow, SubmissionStore, TransactionRow
from caseshare.store.synclogs import SyncLog, SyncLogStore
from caseshare.store.targets import IdentifierRow, TargetRow, TargetStore
from caseshare.store.xcase import XCaseStore

DEFAULT_URL = "sqlite:///caseshare.db"


class Store(
    StructureStore,
    CaseStore,
    CaseListStore,
    SubmissionStore,
    SyncLogStore,
    AccountStore,
    PersonalStore,
    TargetStore,
    AgreementStore,
    AgencyShareStore,
    XCaseStore,
    OutboxStore,
    AuditStore,
    OversightStore,
):
    """The store: structure, cases, grants, targets, submissions, accounts, agreements, the
    outbox and audit over one connection."""


def database_url(url: str | None = None) -> str:
    """The URL given, else ``CASESHARE_DATABASE_URL``, else ``sqlite:///caseshare.db``."""
    return url or os.environ.get("CASESHARE_DATABASE_URL") or DEFAULT_URL


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open a store and bring its schema up to date."""
    store = Store(database_url(url))
    if migrate:
        store.migrate()
    return store


__all__ = [
    "AgencyShareRow",
    "AgreementRow",
    "AuditEvent",
    "AuditQuery",
    "BinnedCase",
    "CaseFilter",
    "FormSummary",
    "GrantRow",
    "IdentifierRow",
    "OutboxRow",
    "SessionRow",
    "Store",
    "SubmissionRow",
    "SyncLog",
    "TargetRow",
    "TokenRow",
    "TransactionRow",
    "database_url",
    "open_store",
]
