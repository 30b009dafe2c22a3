"""Services: the operations people and programs call, each one transaction with its audit."""

from __future__ import annotations

from caseshare.services.access import AccessService, CaseCount, CaseFilter, Page
from caseshare.services.accounts import AccountService, Session
from caseshare.services.admin import AdminService
from caseshare.services.agencyshares import AgencyShareService
from caseshare.services.agreements import AgreementService
from caseshare.services.casepage import CasePageService, Related
from caseshare.services.cases import CaseService
from caseshare.services.context import ContextCache
from caseshare.services.organisation import NewAgency, OrganisationService
from caseshare.services.oversight import DeviceForm, Listing, OversightService
from caseshare.services.people import Match, PeopleService
from caseshare.services.personal import PersonalService, case_filter
from caseshare.services.restore import RestoreService
from caseshare.services.sharedetails import CaseGrant, ShareDetailsService, SharingDetail
from caseshare.services.sharing import SHARE_FIELDS, ShareEntry, SharingService
from caseshare.services.targets import TargetService
from caseshare.services.transactions import SubmitResult, TransactionService
from caseshare.services.xcase import XCaseService


class Caseshare(
    OrganisationService,
    OversightService,
    AdminService,
    CaseService,
    ShareDetailsService,
    SharingService,
    TransactionService,
    RestoreService,
    AccountService,
    PersonalService,
    PeopleService,
    CasePageService,
    TargetService,
    AgencyShareService,
    XCaseService,
    AgreementService,
):
    """Every service over one store."""


__all__ = [
    "SHARE_FIELDS",
    "AccessService",
    "CaseCount",
    "CaseFilter",
    "CaseGrant",
    "Caseshare",
    "ContextCache",
    "DeviceForm",
    "Listing",
    "Match",
    "NewAgency",
    "Page",
    "Related",
    "Session",
    "ShareEntry",
    "SharingDetail",
    "SubmitResult",
    "case_filter",
]
