"""S-AG-1: the flow rule over every combination of status, switches and dates, against an
oracle written the plain way; and the date rules of an agreement."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseshare.core.agreements import (
    FLAGS,
    Agreement,
    Side,
    Status,
    check_dates,
    data_flows,
    narrows,
    parse_day,
    search_allowed,
)
from caseshare.core.errors import CaseShareError

TODAY = dt.date(2026, 6, 15)
DAY = dt.timedelta(days=1)
#: a start or end: none, long ago, yesterday, today, tomorrow, far ahead
DATES = (None, TODAY - 400 * DAY, TODAY - DAY, TODAY, TODAY + DAY, TODAY + 400 * DAY)
NORTH, SOUTH, WEST = 1, 2, 3


def _side(agency: int, bits: tuple[bool, ...]) -> Side:
    return Side(agency, f"A{agency}", **dict(zip(FLAGS, bits, strict=True)))


def _oracle(
    a: Agreement, sender: int, receiver: int, today: dt.date, out_flag: str, in_flag: str
) -> bool:
    """S-AG-1 read word for word."""
    sides = {a.proposer.agency_id: a.proposer, a.partner.agency_id: a.partner}
    if sender not in sides or receiver not in sides or sender == receiver:
        return False
    approved = a.status == Status.APPROVED
    enabled = a.proposer.enabled and a.partner.enabled
    started = a.start is None or a.start <= today
    not_ended = a.end is None or today <= a.end
    return (
        approved
        and enabled
        and started
        and not_ended
        and getattr(sides[sender], out_flag)
        and getattr(sides[receiver], in_flag)
    )


def _agree(a: Agreement, sender: int, receiver: int) -> None:
    flow = data_flows(a, sender, receiver, TODAY)
    assert flow.allowed is _oracle(
        a, sender, receiver, TODAY, "outbound_sharing", "inbound_sharing"
    ), (a, sender, flow)
    search = search_allowed(a, sender, receiver, TODAY)
    assert search.allowed is _oracle(
        a, sender, receiver, TODAY, "outbound_search", "inbound_search"
    ), (a, sender, search)
    for answer in (flow, search):
        assert (answer.condition == "ok") is answer.allowed and answer.reason


STATUSES = tuple(Status)


def test_s_ag_1_flow_over_every_status_and_every_switch_of_both_sides() -> None:
    """6 statuses × 2¹⁰ switch settings × both directions, data and search, inside the dates."""
    bits = list(itertools.product((False, True), repeat=len(FLAGS)))
    for status in STATUSES:
        for p_bits, q_bits in itertools.product(bits, bits):
            a = Agreement(7, _side(NORTH, p_bits), _side(SOUTH, q_bits), status, *DATES[2:4])
            _agree(a, NORTH, SOUTH)
            _agree(a, SOUTH, NORTH)


def test_s_ag_1_flow_over_every_status_date_window_and_deciding_switch() -> None:
    """6 statuses × 36 windows (none, long ago, yesterday, today, tomorrow, far ahead at each
    end) × every setting of the switches that decide one direction (both enabled, the
    sender's outbound and the receiver's inbound sharing and search)."""
    for status in STATUSES:
        for start, end in itertools.product(DATES, DATES):
            for enabled_p, enabled_q, out_p, in_q in itertools.product((False, True), repeat=4):
                proposer = Side(NORTH, "N", enabled_p, False, out_p, False, out_p)
                partner = Side(SOUTH, "S", enabled_q, in_q, False, in_q, False)
                a = Agreement(7, proposer, partner, status, start, end)
                _agree(a, NORTH, SOUTH)
                _agree(a, SOUTH, NORTH)


@given(
    st.sampled_from(STATUSES),
    st.tuples(*[st.booleans()] * len(FLAGS)),
    st.tuples(*[st.booleans()] * len(FLAGS)),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.dates()),
    st.dates(),
)
def test_s_ag_1_flow_on_random_agreements_and_days(
    status: Status,
    p_bits: tuple[bool, ...],
    q_bits: tuple[bool, ...],
    start: dt.date | None,
    end: dt.date | None,
    day: dt.date,
) -> None:
    a = Agreement(7, _side(NORTH, p_bits), _side(SOUTH, q_bits), status, start, end)
    for sender, receiver in ((NORTH, SOUTH), (SOUTH, NORTH)):
        assert data_flows(a, sender, receiver, day).allowed is _oracle(
            a, sender, receiver, day, "outbound_sharing", "inbound_sharing"
        )
        assert search_allowed(a, sender, receiver, day).allowed is _oracle(
            a, sender, receiver, day, "outbound_search", "inbound_search"
        )


def test_s_ag_1_the_first_failing_condition_is_the_one_named() -> None:
    on = (True,) * len(FLAGS)
    proposer, partner = _side(NORTH, on), _side(SOUTH, on)
    base = Agreement(1, proposer, partner, Status.APPROVED)
    cases = [
        (None, "no_agreement", "no agreement between A1 and A2"),
        (Agreement(1, proposer, partner, Status.PENDING), "status", "is pending, not approved"),
        (
            Agreement(1, Side(NORTH, "A1", enabled=False), partner, Status.APPROVED),
            "disabled",
            "A1 has disabled its agreement with A2",
        ),
        (
            Agreement(1, proposer, partner, Status.APPROVED, start=TODAY + DAY),
            "not_started",
            "starts on 2026-06-16",
        ),
        (
            Agreement(1, proposer, partner, Status.APPROVED, end=TODAY - DAY),
            "expired",
            "ended on 2026-06-14",
        ),
        (
            Agreement(
                1, proposer.with_flags({"outbound_sharing": False}), partner, Status.APPROVED
            ),
            "outbound_off",
            "A1 has outbound sharing off",
        ),
        (
            Agreement(1, proposer, partner.with_flags({"inbound_sharing": False}), Status.APPROVED),
            "inbound_off",
            "A2 has inbound sharing off",
        ),
        (base, "ok", "allows case data sent from A1 to A2 today"),
    ]
    names = {NORTH: "A1", SOUTH: "A2"}
    for agreement, condition, words in cases:
        flow = data_flows(agreement, NORTH, SOUTH, TODAY, names)
        assert flow.condition == condition
        assert words in flow.reason, flow.reason
        assert flow.inactive is (condition in ("disabled", "not_started", "expired"))


def test_s_ag_1_require_raises_agreement_required_with_the_sentence() -> None:
    flow = data_flows(None, NORTH, SOUTH, TODAY, {NORTH: "North", SOUTH: "South"})
    with pytest.raises(CaseShareError) as info:
        flow.require()
    assert info.value.code == "agreement_required"
    assert "no agreement between North and South" in info.value.message
    assert info.value.details == {"condition": "no_agreement"}
    data_flows(
        Agreement(1, _side(1, (True,) * 5), _side(2, (True,) * 5), Status.APPROVED), 1, 2, TODAY
    ).require()


def test_s_ag_1_an_agreement_between_two_others_allows_nothing() -> None:
    on = (True,) * len(FLAGS)
    a = Agreement(1, _side(NORTH, on), _side(SOUTH, on), Status.APPROVED)
    for sender, receiver in ((NORTH, WEST), (WEST, SOUTH), (NORTH, NORTH)):
        assert data_flows(a, sender, receiver, TODAY).condition == "no_agreement"
        assert search_allowed(a, sender, receiver, TODAY).condition == "no_agreement"


def test_s_ag_1_dates_are_whole_days_both_included() -> None:
    on = (True,) * len(FLAGS)
    a = Agreement(1, _side(1, on), _side(2, on), Status.APPROVED, TODAY, TODAY)
    assert data_flows(a, 1, 2, TODAY).allowed
    assert not data_flows(a, 1, 2, TODAY - DAY).allowed
    assert not data_flows(a, 1, 2, TODAY + DAY).allowed


def test_s_ag_1_a_proposal_mirrors_into_the_partners_switches() -> None:
    mine = Side(1, "N", inbound_search=True, outbound_sharing=True)
    theirs = mine.mirrored(2, "S")
    assert theirs.flags() == {
        "enabled": True,
        "inbound_search": False,
        "outbound_search": True,
        "inbound_sharing": True,
        "outbound_sharing": False,
    }
    with pytest.raises(CaseShareError) as info:
        mine.with_flags({"sharing": True})
    assert info.value.code == "validation_error" and "sharing" in info.value.message


def test_s_ag_1_day_parsing_and_order() -> None:
    assert parse_day("2026-01-31", "start_date") == dt.date(2026, 1, 31)
    assert parse_day(None, "x") is None and parse_day("", "x") is None
    assert parse_day(dt.datetime(2026, 1, 2, 3, 4), "x") == dt.date(2026, 1, 2)
    for bad in ("31/01/2026", "2026-02-30", "soon"):
        with pytest.raises(CaseShareError) as info:
            parse_day(bad, "end_date")
        assert info.value.code == "validation_error" and "YYYY-MM-DD" in info.value.message
    check_dates(TODAY, TODAY)
    with pytest.raises(CaseShareError, match="before the start date"):
        check_dates(TODAY, TODAY - DAY)


@given(
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.dates()),
    st.dates(),
)
def test_s_ag_1_a_narrower_window_never_allows_a_day_the_wider_one_did_not(
    old_start: dt.date | None,
    old_end: dt.date | None,
    new_start: dt.date | None,
    new_end: dt.date | None,
    day: dt.date,
) -> None:
    if narrows((old_start, old_end), (new_start, new_end)):
        on = (True,) * len(FLAGS)
        old = Agreement(1, _side(1, on), _side(2, on), Status.APPROVED, old_start, old_end)
        new = Agreement(1, _side(1, on), _side(2, on), Status.APPROVED, new_start, new_end)
        assert not new.in_force(day) or old.in_force(day)


def test_s_ag_1_narrowing_examples() -> None:
    jan, jun, dec = dt.date(2026, 1, 1), dt.date(2026, 6, 1), dt.date(2026, 12, 31)
    assert narrows((jan, dec), (jun, dec))
    assert narrows((None, None), (jan, dec))
    assert narrows((jan, None), (jan, dec))
    assert not narrows((jan, dec), (None, dec))
    assert not narrows((jan, jun), (jan, dec))
    assert not narrows((jan, dec), (jan, None))


def test_s_ag_1_what_each_side_may_do_in_each_status() -> None:
    """What the admin screens offer (``Agreement.actions``), as the service's transitions allow:
    the partner answers, the proposer withdraws, each side switches its own flags, dates are the
    proposer's terms while pending and either side's (narrowing) once approved."""
    sides = (_side(NORTH, (True,) * 5), _side(SOUTH, (True,) * 5))
    expected = {
        Status.PENDING: ({"withdraw", "switch", "dates"}, {"answer", "switch"}),
        Status.APPROVED: ({"switch", "dates", "end"}, {"switch", "dates", "end"}),
    }
    for status in Status:
        a = Agreement(1, *sides, status)
        mine, theirs = expected.get(status, (set(), set()))
        assert a.actions(NORTH) == mine, status
        assert a.actions(SOUTH) == theirs, status
        assert a.actions(WEST) == frozenset(), status
