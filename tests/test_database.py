"""Rules held by the database itself, on both engines.

Each refusal is matched to the constraint that gives it: by name where the engine names
it (PostgreSQL always; SQLite for CHECKs), by its columns or kind where SQLite does not.
"""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


def test_foreign_keys_are_enforced(db):
    refused = "fk_api_tokens_user_id_users|FOREIGN KEY constraint failed"
    with pytest.raises(IntegrityError, match=refused), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO api_tokens (user_id, token_hash, label, created_at) "
                "VALUES (987654, 'x', 'orphan', CURRENT_TIMESTAMP)"
            )
        )


def test_a_secretariat_account_without_institution_is_refused_by_the_database(db):
    with (
        pytest.raises(IntegrityError, match="ck_users_institution_iff_secretariat"),
        db.begin_nested(),
    ):
        db.execute(
            text(
                "INSERT INTO users (name, email, role, created_at) "
                "VALUES ('S', 's@example.eu', 'secretariat', CURRENT_TIMESTAMP)"
            )
        )


def test_an_event_ending_before_it_starts_is_refused_by_the_database(db, dg_rtd):
    with pytest.raises(IntegrityError, match="ck_events_ends_after_start"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO events (uid, title, description, kind, status, starts_at, ends_at, "
                "timezone, local_start_year, online_url, created_by_id, sequence, created_at, "
                "updated_at) "
                "VALUES ('u-1', 't', '', 'other', 'draft', '2027-01-02 10:00', "
                "'2027-01-02 09:00', 'UTC', 2027, 'https://x.eu', :user, 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"user": dg_rtd.id},
        )


def _insert_event(db, user_id: int, uid: str) -> None:
    db.execute(
        text(
            "INSERT INTO events (uid, title, description, kind, status, starts_at, ends_at, "
            "timezone, local_start_year, online_url, created_by_id, sequence, created_at, "
            "updated_at) "
            "VALUES (:uid, 't', '', 'other', 'draft', '2027-01-02 09:00', '2027-01-02 10:00', "
            "'UTC', 2027, 'https://x.eu', :user, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"user": user_id, "uid": uid},
    )


def test_two_events_never_share_a_calendar_uid(db, dg_rtd):
    _insert_event(db, dg_rtd.id, "6a4c2f0e-0000-4000-8000-000000000001")
    refused = "uq_events_uid|UNIQUE constraint failed: events.uid"
    with pytest.raises(IntegrityError, match=refused), db.begin_nested():
        _insert_event(db, dg_rtd.id, "6a4c2f0e-0000-4000-8000-000000000001")


def test_an_event_without_a_calendar_uid_is_refused_by_the_database(db, dg_rtd):
    refused = 'events.uid|null value in column "uid"'
    with pytest.raises(IntegrityError, match=refused), db.begin_nested():
        _insert_event(db, dg_rtd.id, None)


def test_two_personal_feeds_never_share_a_token(db, member):
    insert = text(
        "INSERT INTO personal_feeds (user_id, token_hash, label, created_at) "
        "VALUES (:user, 'same-hash', '', CURRENT_TIMESTAMP)"
    )
    db.execute(insert, {"user": member.id})
    refused = "uq_personal_feeds_token_hash|UNIQUE constraint failed: personal_feeds.token_hash"
    with pytest.raises(IntegrityError, match=refused), db.begin_nested():
        db.execute(insert, {"user": member.id})


def test_a_stored_vevent_names_a_known_variant(db, dg_rtd):
    _insert_event(db, dg_rtd.id, "6a4c2f0e-0000-4000-8000-000000000002")
    event_id = db.execute(text("SELECT max(id) FROM events")).scalar_one()
    with pytest.raises(IntegrityError, match="ck_feed_entries_variant"), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO feed_entries (event_id, variant, version, vevent) "
                "VALUES (:event, 'everyone', 'v', 'BEGIN:VEVENT')"
            ),
            {"event": event_id},
        )


def test_a_failed_request_writes_nothing(client, dg_rtd, db):
    """The session dependency rolls back: a request that fails half-way leaves no trace."""
    from tests.helpers.events import published_event

    event = published_event(client, dg_rtd.headers)
    response = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"title": "Changed first", "venue": None},  # the title changes, then it fails
    )
    assert response.status_code == 422
    assert client.get(f"/events/{event['id']}").json()["title"] == event["title"]
