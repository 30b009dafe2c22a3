"""Services: the operations people and programs call, each one transaction with its audit."""

from __future__ import annotations

from caseshare.services.access import AccessService, CaseFilter, Page
from caseshare.services.admin import AdminService
from caseshare.services.cases import CaseService
from caseshare.services.context import ContextCache
from caseshare.services.restore import RestoreService
from caseshare.services.sharing import SHARE_FIELDS, ShareEntry, SharingService
from caseshare.services.transactions import SubmitResult, TransactionService


class Caseshare(AdminService, CaseService, SharingService, TransactionService, RestoreService):
    """Every service over one store."""


__all__ = [
    "SHARE_FIELDS",
    "AccessService",
    "CaseFilter",
    "Caseshare",
    "ContextCache",
    "Page",
    "ShareEntry",
    "SubmitResult",
]
