"""Versioned schema migrations, written once for both dialects (``{pk}``, ``{json}`` … fill in).

A statement that only one store has (its own index kinds) is a dict by dialect name; the other
store skips it.
"""

from __future__ import annotations

Statement = str | dict[str, str]

MIGRATIONS: list[tuple[int, str, list[Statement]]] = [
    (
        1,
        "agencies, people, structure, cases, stored grants, rules, audit",
        [
            """CREATE TABLE agencies (
                id {pk}, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                settings {json} NOT NULL, version {bigint} NOT NULL DEFAULT 0)""",
            """CREATE TABLE roles (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                parent_id {bigint} REFERENCES roles(id))""",
            """CREATE TABLE users (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                username TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
                full_name TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
                role_id {bigint} REFERENCES roles(id), permissions TEXT NOT NULL DEFAULT '',
                password_hash TEXT, UNIQUE (agency_id, username))""",
            "CREATE INDEX users_role ON users (agency_id, role_id)",
            """CREATE TABLE agency_groups (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                case_sharing INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT 'group')""",
            """CREATE TABLE group_members (
                group_id {bigint} NOT NULL REFERENCES agency_groups(id), member TEXT NOT NULL,
                PRIMARY KEY (group_id, member))""",
            """CREATE TABLE location_types (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                shares_cases INTEGER NOT NULL DEFAULT 0, view_descendants INTEGER NOT NULL DEFAULT 0)""",
            """CREATE TABLE locations (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                type_id {bigint} NOT NULL REFERENCES location_types(id),
                parent_id {bigint} REFERENCES locations(id), archived INTEGER NOT NULL DEFAULT 0)""",
            """CREATE TABLE user_locations (
                user_id {bigint} NOT NULL REFERENCES users(id),
                location_id {bigint} NOT NULL REFERENCES locations(id),
                PRIMARY KEY (user_id, location_id))""",
            """CREATE TABLE team_roles (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                level INTEGER NOT NULL, UNIQUE (agency_id, name))""",
            """CREATE TABLE rules (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id), name TEXT NOT NULL,
                kind TEXT NOT NULL, owner_in TEXT, criteria {json}, grantee TEXT NOT NULL,
                level INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1)""",
            """CREATE TABLE cases (
                pk {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                case_id TEXT NOT NULL, case_type TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
                external_id TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL,
                owner_user_id {bigint}, opened_on TEXT NOT NULL, opened_by {bigint},
                modified_on TEXT NOT NULL, server_modified_on TEXT NOT NULL,
                modified_by {bigint}, closed INTEGER NOT NULL DEFAULT 0, closed_on TEXT,
                closed_by {bigint}, deleted INTEGER NOT NULL DEFAULT 0,
                properties {json} NOT NULL, UNIQUE (agency_id, case_id))""",
            "CREATE INDEX cases_owner ON cases (agency_id, owner)",
            "CREATE INDEX cases_owner_user ON cases (owner_user_id)",
            "CREATE INDEX cases_type ON cases (agency_id, case_type)",
            "CREATE INDEX cases_modified ON cases (agency_id, server_modified_on, pk)",
            "CREATE INDEX cases_name ON cases (agency_id, name, pk)",
            """CREATE TABLE case_indices (
                case_pk {bigint} NOT NULL REFERENCES cases(pk), identifier TEXT NOT NULL,
                ref_pk {bigint} NOT NULL REFERENCES cases(pk), ref_type TEXT NOT NULL,
                relationship TEXT NOT NULL, PRIMARY KEY (case_pk, identifier))""",
            "CREATE INDEX case_indices_ref ON case_indices (ref_pk)",
            """CREATE TABLE grants (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                case_pk {bigint} NOT NULL REFERENCES cases(pk), cause TEXT NOT NULL,
                grantee TEXT NOT NULL, grantee_user_id {bigint}, level INTEGER NOT NULL,
                team_role_id {bigint} REFERENCES team_roles(id),
                created_by TEXT NOT NULL, created_at TEXT NOT NULL,
                modified_by TEXT NOT NULL, modified_at TEXT NOT NULL,
                is_deleted INTEGER NOT NULL DEFAULT 0, UNIQUE (case_pk, cause, grantee))""",
            "CREATE INDEX grants_grantee ON grants (agency_id, grantee, case_pk)",
            "CREATE INDEX grants_grantee_user ON grants (grantee_user_id)",
            """CREATE TABLE audit_events (
                id {pk}, agency_id {bigint}, actor TEXT NOT NULL, at TEXT NOT NULL,
                action TEXT NOT NULL, subject TEXT NOT NULL, case_pk {bigint},
                before {json}, after {json}, reason TEXT NOT NULL DEFAULT '')""",
            "CREATE INDEX audit_subject ON audit_events (agency_id, subject, id)",
            "CREATE INDEX audit_case ON audit_events (case_pk, id)",
        ],
    ),
    (
        2,
        "case search text: name, external id and property values, case-folded",
        [
            "ALTER TABLE cases ADD COLUMN search TEXT NOT NULL DEFAULT ''",
        ],
    ),
    (
        3,
        "device submissions, case transactions and sync logs (SPEC §8, §9)",
        [
            """CREATE TABLE submissions (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                instance_id TEXT NOT NULL, user_id {bigint}, received_on TEXT NOT NULL,
                position {bigint}, xml TEXT NOT NULL, content_hash TEXT NOT NULL,
                status TEXT NOT NULL, problem TEXT NOT NULL DEFAULT '', sync_token TEXT,
                replaced_by {bigint})""",
            # one current version per instanceID; deprecated, duplicate and error rows pile up
            """CREATE UNIQUE INDEX submissions_current ON submissions (agency_id, instance_id)
                WHERE status IN ('normal', 'archived')""",
            "CREATE INDEX submissions_instance ON submissions (agency_id, instance_id, id)",
            """CREATE TABLE case_transactions (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                case_id TEXT NOT NULL, submission_id {bigint} REFERENCES submissions(id),
                position {bigint} NOT NULL, server_date TEXT NOT NULL, client_date TEXT,
                kinds TEXT NOT NULL, owner TEXT, snapshot {json},
                revoked INTEGER NOT NULL DEFAULT 0)""",
            "CREATE INDEX case_transactions_case ON case_transactions (agency_id, case_id, position)",
            "CREATE INDEX case_transactions_submission ON case_transactions (submission_id)",
            # the case ids a transaction's index actions name: whose index rows follow a case
            """CREATE TABLE transaction_refs (
                transaction_id {bigint} NOT NULL REFERENCES case_transactions(id),
                agency_id {bigint} NOT NULL, ref_case_id TEXT NOT NULL,
                PRIMARY KEY (transaction_id, ref_case_id))""",
            "CREATE INDEX transaction_refs_ref ON transaction_refs (agency_id, ref_case_id)",
            """CREATE TABLE sync_logs (
                id {pk}, token TEXT NOT NULL UNIQUE, agency_id {bigint} NOT NULL
                REFERENCES agencies(id), user_id {bigint} NOT NULL, created_on TEXT NOT NULL,
                previous TEXT, watermark {bigint} NOT NULL, case_ids {json} NOT NULL)""",
        ],
    ),
    (
        4,
        "sign-in: sessions, API tokens, sign-in attempts; favourites, recent cases, saved filters",
        [
            """CREATE TABLE sessions (
                id {pk}, token_hash TEXT NOT NULL UNIQUE,
                user_id {bigint} NOT NULL REFERENCES users(id), csrf TEXT NOT NULL,
                created_at TEXT NOT NULL, expires_at TEXT NOT NULL)""",
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """CREATE TABLE api_tokens (
                id {pk}, user_id {bigint} NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
                last_used_at TEXT, revoked_at TEXT)""",
            "CREATE INDEX api_tokens_user ON api_tokens (user_id)",
            """CREATE TABLE signin_failures (
                id {pk}, agency_id {bigint} NOT NULL, username TEXT NOT NULL,
                at TEXT NOT NULL)""",
            "CREATE INDEX signin_failures_name ON signin_failures (agency_id, username, at)",
            """CREATE TABLE favourites (
                user_id {bigint} NOT NULL REFERENCES users(id),
                case_pk {bigint} NOT NULL REFERENCES cases(pk), created_at TEXT NOT NULL,
                PRIMARY KEY (user_id, case_pk))""",
            """CREATE TABLE recent_cases (
                user_id {bigint} NOT NULL REFERENCES users(id),
                case_pk {bigint} NOT NULL REFERENCES cases(pk), viewed_at TEXT NOT NULL,
                PRIMARY KEY (user_id, case_pk))""",
            "CREATE INDEX recent_cases_user ON recent_cases (user_id, viewed_at)",
            """CREATE TABLE saved_filters (
                id {pk}, user_id {bigint} NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                filter {json} NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
                UNIQUE (user_id, name))""",
        ],
    ),
    (
        5,
        "each user's own settings of the screens: the View cases layout",
        [
            """CREATE TABLE user_preferences (
                user_id {bigint} PRIMARY KEY REFERENCES users(id),
                view_cases TEXT NOT NULL DEFAULT 'advanced')""",
        ],
    ),
    (
        6,
        "the admins' agency-wide audit log: newest first, and by actor",
        [
            "CREATE INDEX audit_agency ON audit_events (agency_id, id)",
            "CREATE INDEX audit_actor ON audit_events (agency_id, actor, id)",
        ],
    ),
    (
        7,
        "targets and their identifiers, inter-agency agreements, the notification outbox",
        [
            """CREATE TABLE targets (
                id {pk}, agency_id {bigint} NOT NULL REFERENCES agencies(id),
                case_pk {bigint} NOT NULL REFERENCES cases(pk), kind TEXT NOT NULL,
                name TEXT NOT NULL, added_on TEXT NOT NULL, added_by TEXT NOT NULL,
                modified_on TEXT NOT NULL, modified_by TEXT NOT NULL)""",
            "CREATE INDEX targets_case ON targets (case_pk, id)",
            """CREATE TABLE target_identifiers (
                id {pk}, target_id {bigint} NOT NULL REFERENCES targets(id),
                agency_id {bigint} NOT NULL, case_pk {bigint} NOT NULL, type TEXT NOT NULL,
                value TEXT NOT NULL, normalized TEXT NOT NULL,
                deconfliction INTEGER NOT NULL DEFAULT 0)""",
            "CREATE INDEX target_identifiers_target ON target_identifiers (target_id, id)",
            # S-XC-1: the cases of an agency that carry one identifier, straight from the index
            """CREATE INDEX target_identifiers_deconfliction
                ON target_identifiers (agency_id, type, normalized, case_pk)
                WHERE deconfliction = 1""",
            """CREATE TABLE agreements (
                id {pk}, proposer_id {bigint} NOT NULL REFERENCES agencies(id),
                partner_id {bigint} NOT NULL REFERENCES agencies(id),
                pair_low {bigint} NOT NULL, pair_high {bigint} NOT NULL, status TEXT NOT NULL,
                proposer_flags {json} NOT NULL, partner_flags {json} NOT NULL,
                start_date TEXT, end_date TEXT, proposed_by TEXT NOT NULL,
                proposed_at TEXT NOT NULL, answered_by TEXT, answered_at TEXT,
                reason TEXT NOT NULL DEFAULT '', closed_by TEXT, closed_at TEXT,
                superseded_by {bigint}, modified_by TEXT NOT NULL, modified_at TEXT NOT NULL)""",
            # one pending and one approved agreement per pair of agencies, whoever proposed it
            """CREATE UNIQUE INDEX agreements_pending ON agreements (pair_low, pair_high)
                WHERE status = 'pending'""",
            """CREATE UNIQUE INDEX agreements_approved ON agreements (pair_low, pair_high)
                WHERE status = 'approved'""",
            "CREATE INDEX agreements_partner ON agreements (partner_id, id)",
            "CREATE INDEX agreements_proposer ON agreements (proposer_id, id)",
            """CREATE TABLE outbox (
                id {pk}, agency_id {bigint} REFERENCES agencies(id), kind TEXT NOT NULL,
                about TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,
                recipient_user_id {bigint}, recipient_name TEXT NOT NULL,
                recipient_email TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
                link TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
                next_attempt_at TEXT NOT NULL, claimed_by TEXT, lease_until TEXT,
                last_error TEXT NOT NULL DEFAULT '', sent_at TEXT)""",
            """CREATE INDEX outbox_due ON outbox (next_attempt_at, id)
                WHERE status = 'pending'""",
            "CREATE INDEX outbox_agency ON outbox (agency_id, id)",
        ],
    ),
    (
        8,
        "what each device holds (sync logs), case transactions found by id (incremental sync)",
        [
            # per case the device holds: [closed, owned, {identifier: [case id, relationship]}],
            # as the device knows it (its restores and its own forms)
            "ALTER TABLE sync_logs ADD COLUMN device_cases {json}",
            "CREATE INDEX case_transactions_id ON case_transactions (agency_id, id)",
        ],
    ),
    (
        9,
        "a host's extensions straight from an index (row cause sync walks them)",
        [
            # the S-SYNC-1 walks go from a host to its extensions only; a household with
            # thousands of children has a few hundred extensions
            "CREATE INDEX case_indices_ref_relationship ON case_indices (ref_pk, relationship)",
        ],
    ),
    (
        10,
        "the structural change log: each process patches its agency context from it",
        [
            # counts an agency's structural changes; taken under the agency row's lock, so the
            # log's numbers are dense and in commit order (a rolled-back change leaves no hole)
            "ALTER TABLE agencies ADD COLUMN change_seq {bigint} NOT NULL DEFAULT 0",
            # what changed: kind (user, group, location, location_type, role, team_role, rule,
            # settings, all) and the row's id; the newest 1,000 of an agency are kept
            """CREATE TABLE context_changes (
                agency_id {bigint} NOT NULL REFERENCES agencies(id), seq {bigint} NOT NULL,
                kind TEXT NOT NULL, ref {bigint}, PRIMARY KEY (agency_id, seq))""",
        ],
    ),
    (
        11,
        "text search from each store's own index (SQLite FTS5 trigram, PostgreSQL pg_trgm);"
        " cases by agency and pk, and by agency and opened date",
        [
            # external content: the FTS table stores only its index; cases.search is the text
            {
                "sqlite": """CREATE VIRTUAL TABLE cases_fts USING fts5(
                    search, content='cases', content_rowid='pk', tokenize='trigram')"""
            },
            {
                "sqlite": """CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
                    INSERT INTO cases_fts (rowid, search) VALUES (new.pk, new.search); END"""
            },
            {
                "sqlite": """CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
                    INSERT INTO cases_fts (cases_fts, rowid, search)
                    VALUES ('delete', old.pk, old.search); END"""
            },
            {
                "sqlite": """CREATE TRIGGER cases_fts_update AFTER UPDATE OF search ON cases
                    WHEN old.search IS NOT new.search BEGIN
                    INSERT INTO cases_fts (cases_fts, rowid, search)
                    VALUES ('delete', old.pk, old.search);
                    INSERT INTO cases_fts (rowid, search) VALUES (new.pk, new.search); END"""
            },
            {"sqlite": "INSERT INTO cases_fts (cases_fts) VALUES ('rebuild')"},
            # an estimated count samples the agency's pk range; the list walks opened_on too
            "CREATE INDEX cases_agency_pk ON cases (agency_id, pk)",
            "CREATE INDEX cases_opened ON cases (agency_id, opened_on, pk)",
            # a sync log holds what a device holds (10,000 cases: ~700 KB of JSON), written on
            # every restore and read on the next: as jsonb, PostgreSQL parsed it on each write
            # and printed it on each read (3x and 1.5-2x the cost of text); no query looks inside
            {
                "postgres": """ALTER TABLE sync_logs
                    ALTER COLUMN case_ids TYPE text USING case_ids::text,
                    ALTER COLUMN device_cases TYPE text USING device_cases::text"""
            },
            {"postgres": "CREATE EXTENSION IF NOT EXISTS pg_trgm"},
            {"postgres": "CREATE INDEX cases_search_trgm ON cases USING gin (search gin_trgm_ops)"},
        ],
    ),
    (
        12,
        "agency shares: a case sent to another agency, its field units and shared targets",
        [
            """CREATE TABLE agency_shares (
                id {pk}, case_pk {bigint} NOT NULL REFERENCES cases(pk),
                from_agency_id {bigint} NOT NULL REFERENCES agencies(id),
                to_agency_id {bigint} NOT NULL REFERENCES agencies(id), status TEXT NOT NULL,
                auto_include INTEGER NOT NULL DEFAULT 0, receiving_user_id {bigint},
                local_case_pk {bigint}, reason TEXT NOT NULL DEFAULT '',
                created_by TEXT NOT NULL, created_at TEXT NOT NULL, answered_by TEXT,
                answered_at TEXT, modified_by TEXT NOT NULL, modified_at TEXT NOT NULL)""",
            # one live share per case and receiving agency: a second send edits the first
            """CREATE UNIQUE INDEX agency_shares_live ON agency_shares (case_pk, to_agency_id)
                WHERE status IN ('pending', 'active')""",
            "CREATE INDEX agency_shares_case ON agency_shares (case_pk, id)",
            "CREATE INDEX agency_shares_to ON agency_shares (to_agency_id, status, id)",
            "CREATE INDEX agency_shares_receiver ON agency_shares (receiving_user_id, status)",
            "CREATE INDEX agency_shares_local ON agency_shares (local_case_pk)",
            """CREATE TABLE agency_share_units (
                share_id {bigint} NOT NULL REFERENCES agency_shares(id),
                group_id {bigint} NOT NULL REFERENCES agency_groups(id),
                PRIMARY KEY (share_id, group_id))""",
            "CREATE INDEX agency_share_units_group ON agency_share_units (group_id, share_id)",
            """CREATE TABLE agency_share_targets (
                share_id {bigint} NOT NULL REFERENCES agency_shares(id),
                target_id {bigint} NOT NULL REFERENCES targets(id),
                PRIMARY KEY (share_id, target_id))""",
        ],
    ),
]
