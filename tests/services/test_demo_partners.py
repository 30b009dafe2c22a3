"""Issue 11 item 9: the demo holds what a new user needs to try inter-agency sharing, on both
stores — cases sent both ways between the demo agency and Partner Agency (S-AG-2…S-AG-5), one
waiting for Partner's admin, an X-Case alert (S-XC-1), and their notices waiting in the outbox
(S-NOT-1) because the demo is loaded without a mail server."""

from __future__ import annotations

from caseshare.core.agencyshares import Status
from caseshare.demo import load_demo
from caseshare.services import Caseshare
from caseshare.store import open_store


def test_s_ag_5_the_demo_sends_cases_both_ways_and_one_waits_for_padma(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert load_demo(store, passwords=False)
        svc = Caseshare(store)
        demo, partner = store.agency_by_slug("demo"), store.agency_by_slug("partner")
        assert demo is not None and partner is not None
        users = {u.username: u.id for u in svc.context(demo).directory.users.values()}
        users |= {u.username: u.id for u in svc.context(partner).directory.users.values()}

        def pk(agency: int, case_id: str) -> int:
            found = store.case_pk(agency, case_id)
            assert found is not None, case_id
            return found

        shares = {
            (store.case_record(r.case_pk)["case_id"], r.to_agency_id): r
            for agency in (demo, partner)
            for r in svc.agency_shares_received(
                agency, users["admin" if agency == demo else "padma"]
            )
        }
        assert {k: r.status for k, r in shares.items()} == {
            ("patient-1", partner): Status.ACTIVE,
            ("referral-1", partner): Status.PENDING,
            ("tip-1", demo): Status.ACTIVE,
        }
        assert shares[("patient-1", partner)].receiving_user_id == users["pat"]
        assert shares[("tip-1", demo)].receiving_user_id == users["wendy"]
        states = svc.sharing_states(
            [pk(demo, "patient-1"), pk(demo, "referral-1"), pk(partner, "tip-1")]
        )
        assert list(states.values()) == ["both", "sending", "sending"]
        # S-AG-4: Wendy reads Partner's tip and its shared target from patient-1
        received = svc.received_for_local_case(demo, users["wendy"], "patient-1")
        assert [(r["name"], [t["name"] for t in r["targets"]]) for r in received] == [
            ("Tip from the harbour", ["Vic Vance"])
        ]
        # S-XC-1: Rex's phone is on patient-1 and referral-1
        for case_id, other in (("patient-1", "referral-1"), ("referral-1", "patient-1")):
            alerts = svc.xcase_alerts(demo, users["wendy"], case_id)
            assert [a["case"]["case_id"] for a in alerts] == [other]
        # S-NOT-1: without --smtp every notice waits; Padma's says the referral waits for her
        waiting = store.outbox_page(partner, kind="agency_share_waiting", limit=50)
        assert {m.recipient_name for m in waiting} == {"Padma Partner-Admin"}
        assert f"agency_share:{shares[('referral-1', partner)].id}" in {m.about for m in waiting}
        counts = store.outbox_counts(None)
        assert counts["pending"] > 0 and sum(counts.values()) == counts["pending"], counts
        assert not load_demo(store, passwords=False)
    finally:
        store.close()
