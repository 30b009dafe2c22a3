"""What the transactions issue left open (issue 8): cascades that follow their index and device
time, forms declared ISO-8859-1, empty names, property limits — on both stores."""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from tests.services.cast import Cast
from tests.services.forms import block, create, form, index, update
from tests.services.test_transactions import assert_rebuild_agrees, row


def _closed(cast: Cast, case_id: str) -> bool:
    return bool(row(cast, case_id)["closed"])


@pytest.mark.parametrize("ordering", ["received", "reconcile"])
def test_archiving_the_form_that_added_an_extension_index_takes_back_its_cascade_close(
    cast: Cast, ordering: str
) -> None:
    cast.svc.update_settings(
        cast.agency, None, {"extension_close_cascade": True, "ordering": ordering}
    )
    owner = cast.owner
    cast.svc.submit(cast.agency, owner, form(block("host", create()), block("ext", create())))
    cast.svc.submit(
        cast.agency,
        owner,
        form(
            block("ext", index("host", "host", "extension"), "2024-01-02T00:00:00Z"), instance="ix"
        ),
    )
    cast.svc.submit(cast.agency, owner, form(block("host", "<close/>", "2024-01-03T00:00:00Z")))
    assert _closed(cast, "host") and _closed(cast, "ext")  # closed by the cascade
    cast.svc.archive_submission(cast.agency, cast.admin, "ix")
    assert _closed(cast, "host") and not _closed(cast, "ext")  # no longer its extension
    assert_rebuild_agrees(cast, "host", "ext")
    cast.svc.unarchive_submission(cast.agency, cast.admin, "ix")
    assert _closed(cast, "ext")
    assert_rebuild_agrees(cast, "host", "ext")


@pytest.mark.parametrize("ordering", ["received", "reconcile"])
def test_an_extension_index_to_an_already_closed_host_does_not_close_the_extension(
    cast: Cast, ordering: str
) -> None:
    """The cascade follows closing a host (§8.4); the same rule whatever the ordering, and on a
    rebuild as when the form is received."""
    cast.svc.update_settings(
        cast.agency, None, {"extension_close_cascade": True, "ordering": ordering}
    )
    owner = cast.owner
    cast.svc.submit(cast.agency, owner, form(block("host", create()), block("ext", create())))
    cast.svc.submit(cast.agency, owner, form(block("host", "<close/>", "2024-01-02T00:00:00Z")))
    cast.svc.submit(
        cast.agency,
        owner,
        form(
            block("ext", index("host", "host", "extension"), "2024-01-03T00:00:00Z"), instance="ix"
        ),
    )
    assert not _closed(cast, "ext")
    cast.svc.submit(
        cast.agency, owner, form(block("ext", update(p="1"), "2024-01-04T00:00:00Z"), instance="u")
    )
    cast.svc.archive_submission(cast.agency, cast.admin, "u")  # a rebuild of ext
    assert not _closed(cast, "ext")
    assert not [t for t in cast.store.transactions(cast.agency, "ext") if "cascade" in t.kinds]
    assert_rebuild_agrees(cast, "host", "ext")


def test_under_reconcile_the_form_that_closed_the_host_follows_device_time(cast: Cast) -> None:
    """Two forms of one user close the host; the later-received one has the earlier device
    time, so under reconcile it is the one that closed it, and a re-derived cascade is its."""
    cast.svc.update_settings(cast.agency, None, {"ordering": "reconcile"})
    owner = cast.owner
    cast.svc.submit(
        cast.agency,
        owner,
        form(
            block("host", create(), "2024-01-01T00:00:00Z"),
            block("ext", create() + index("host", "host", "extension"), "2024-01-01T00:00:00Z"),
        ),
        # ext's own form, archived and unarchived below to rebuild it
    )
    cast.svc.submit(
        cast.agency, owner, form(block("ext", update(p="1"), "2024-01-01T01:00:00Z"), instance="e")
    )
    cast.svc.submit(
        cast.agency, owner, form(block("host", "<close/>", "2024-01-03T00:00:00Z"), instance="late")
    )
    cast.svc.submit(
        cast.agency,
        owner,
        form(block("host", "<close/>", "2024-01-02T00:00:00Z"), instance="early"),
    )
    assert row(cast, "host")["closed_on"] == "2024-01-02T00:00:00.000000Z"
    assert not _closed(cast, "ext")  # the cascade was off
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    cast.svc.archive_submission(cast.agency, cast.admin, "e")
    [cascade] = [t for t in cast.store.transactions(cast.agency, "ext") if "cascade" in t.kinds]
    [early] = cast.store.submissions(cast.agency, "early")
    assert cascade.submission_id == early.id
    assert cascade.client_date == "2024-01-02T00:00:00.000000Z"
    assert _closed(cast, "ext") and row(cast, "ext")["closed_on"] == "2024-01-02T00:00:00.000000Z"
    assert_rebuild_agrees(cast, "host", "ext")


def test_a_form_declared_iso_8859_1_is_applied_and_replayed_as_iso_8859_1(cast: Cast) -> None:
    xml = '<?xml version="1.0" encoding="ISO-8859-1"?>' + form(
        block("latin", create(name="Zoë") + update(town="Düsseldorf")), instance="latin-1"
    )
    cast.svc.submit(cast.agency, cast.owner, xml.encode("latin-1"))
    assert row(cast, "latin")["name"] == "Zoë"
    assert row(cast, "latin")["properties"] == {"town": "Düsseldorf"}
    assert_rebuild_agrees(cast, "latin")
    # the same bytes again are a duplicate; the same form in UTF-8 (other bytes) an edit
    assert cast.svc.submit(cast.agency, cast.owner, xml.encode("latin-1")).status == "duplicate"
    utf8 = xml.replace("ISO-8859-1", "UTF-8").encode("utf-8")
    assert cast.svc.submit(cast.agency, cast.owner, utf8).edited
    assert row(cast, "latin")["properties"] == {"town": "Düsseldorf"}


def test_an_empty_case_name_on_create_is_refused_and_stored_as_an_error(cast: Cast) -> None:
    xml = form(
        block("nameless", "<create><case_type>p</case_type><case_name/></create>"), instance="nn"
    )
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, xml)
    assert info.value.code == "invalid_case_block" and "case_name" in info.value.message
    [stored] = cast.store.submissions(cast.agency, "nn")
    assert stored.status == "error"
    assert cast.store.case_pk(cast.agency, "nameless") is None


def test_property_limits_are_the_same_for_a_device_and_the_api(cast: Cast) -> None:
    big = "v" * 10_001
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, form(block(cast.case, update(p=big))))
    assert info.value.code == "invalid_case_block" and "10,000" in info.value.message
    with pytest.raises(CaseShareError) as info:
        cast.svc.update_case(cast.agency, cast.owner, cast.case, properties={"p": big})
    assert info.value.code == "validation_error" and "10,000" in info.value.message
    with pytest.raises(CaseShareError) as info:
        cast.svc.edit_case(cast.agency, cast.owner, cast.case, properties={"p" * 256: "v"})
    assert info.value.code == "validation_error" and "255" in info.value.message
    cast.svc.update_case(cast.agency, cast.owner, cast.case, properties={"p": big[:-1]})
    with pytest.raises(CaseShareError) as info:
        cast.svc.create_case(cast.agency, cast.owner, "patient", "")
    assert info.value.code == "validation_error" and "name" in info.value.message


def test_a_name_of_spaces_only_is_refused_by_every_path(cast: Cast) -> None:
    """A device form's ``<case_name>   </case_name>`` is read stripped and refused as empty; the
    API and the screens refuse a name of spaces only alike (create, update, edit), and nothing
    changes."""
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(
            cast.agency,
            cast.owner,
            form(
                block(
                    "spaces", "<create><case_type>p</case_type><case_name>   </case_name></create>"
                )
            ),
        )
    assert info.value.code == "invalid_case_block"
    for attempt in (
        lambda: cast.svc.create_case(cast.agency, cast.owner, "patient", "   "),
        lambda: cast.svc.update_case(cast.agency, cast.owner, cast.case, name=" \t "),
        lambda: cast.svc.edit_case(cast.agency, cast.owner, cast.case, name="  "),
    ):
        with pytest.raises(CaseShareError) as info:
            attempt()
        assert info.value.code == "validation_error" and "only spaces" in info.value.message
    assert cast.store.case_pk(cast.agency, "spaces") is None
    assert cast.store.case_record(cast.store.case_pk(cast.agency, cast.case))["name"].strip()
