"""The case facts' grants by grantee (``CaseFacts.grants_to``): the same grants a scan finds."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from caseshare.core.levels import Cause, Level
from caseshare.core.model import StoredGrant
from caseshare.core.principals import Principal
from tests.core.builders import case

PRINCIPALS = st.builds(Principal, st.sampled_from(("user", "group", "role")), st.integers(1, 4))
GRANTS = st.lists(
    st.builds(
        StoredGrant,
        st.integers(1, 10_000),
        st.just(1),
        st.sampled_from((Cause.MANUAL, Cause.ASSIGNED, Cause.TEAM)),
        PRINCIPALS,
        st.sampled_from((Level.READ, Level.EDIT, Level.FULL)),
    ),
    max_size=12,
)


@given(grants=GRANTS, principals=st.sets(PRINCIPALS), again=st.sets(PRINCIPALS))
def test_grants_to_are_the_grants_a_scan_keeps_in_their_order(
    grants: list[StoredGrant], principals: set[Principal], again: set[Principal]
) -> None:
    """S-ACC-1 (stored grants): a decision on a case that many grants reach looks up the user's
    principals instead of testing every grant; it must find the same grants, in the same order
    (the explanation lists them so), asked once or again with other principals."""
    facts = replace(case(1, "group:7"), grants=tuple(grants))
    for asked in (principals, again):
        paths = {p: str(p) for p in asked}
        assert facts.grants_to(paths.keys()) == tuple(g for g in grants if g.grantee in asked)


def test_a_copy_with_other_grants_does_not_keep_the_old_lookup() -> None:
    """``replace`` gives new facts a lookup of their own grants, never the original's."""
    mine = StoredGrant(1, 1, Cause.MANUAL, Principal("user", 1), Level.READ)
    facts = replace(case(1, "group:7"), grants=(mine,))
    assert facts.grants_to({Principal("user", 1)}) == (mine,)
    assert replace(facts, grants=()).grants_to({Principal("user", 1)}) == ()
