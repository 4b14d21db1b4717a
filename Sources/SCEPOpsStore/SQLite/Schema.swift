import GRDB

/// The versioned migrations of the SQLite state. A migration, once released, never
/// changes; a new schema is a new migration.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL
                    );
                    INSERT INTO meta (key, value) VALUES ('revision', 0);

                    CREATE TABLE certificate_authority (
                        name TEXT PRIMARY KEY NOT NULL,
                        url TEXT NOT NULL,
                        challenge_sealed BLOB NOT NULL,
                        challenge_digest TEXT NOT NULL,
                        file TEXT NOT NULL,
                        ca_certificate BLOB,
                        ca_subject TEXT,
                        ca_fingerprint TEXT,
                        ca_not_after TEXT,
                        last_commit TEXT,
                        updated_at TEXT NOT NULL
                    );

                    CREATE TABLE team (
                        name TEXT PRIMARY KEY NOT NULL,
                        -- Hashed (keyed): the server matches a presented secret, nobody reads it back.
                        enroll_secret_digest TEXT NOT NULL UNIQUE,
                        file TEXT NOT NULL,
                        last_commit TEXT,
                        updated_at TEXT NOT NULL
                    );

                    CREATE TABLE profile (
                        uuid TEXT PRIMARY KEY NOT NULL,
                        team TEXT NOT NULL REFERENCES team(name) ON DELETE RESTRICT,
                        identifier TEXT NOT NULL,
                        path TEXT NOT NULL,
                        content BLOB NOT NULL,
                        checksum TEXT NOT NULL,
                        last_commit TEXT,
                        updated_at TEXT NOT NULL,
                        UNIQUE (team, identifier)
                    );

                    -- RESTRICT on the CA: the CA-name rule enforced by the database too.
                    CREATE TABLE profile_certificate_authority (
                        profile_uuid TEXT NOT NULL REFERENCES profile(uuid) ON DELETE CASCADE,
                        ca_name TEXT NOT NULL REFERENCES certificate_authority(name) ON DELETE RESTRICT,
                        PRIMARY KEY (profile_uuid, ca_name)
                    );
                    CREATE INDEX profile_certificate_authority_ca ON profile_certificate_authority(ca_name);

                    CREATE TABLE host (
                        uuid TEXT PRIMARY KEY NOT NULL,
                        serial TEXT,
                        team TEXT REFERENCES team(name) ON DELETE SET NULL,
                        enrolled_at TEXT NOT NULL,
                        last_seen_at TEXT
                    );
                    CREATE INDEX host_team ON host(team);

                    -- No foreign key to profile: a removal outlives the profile row it removes.
                    CREATE TABLE host_profile (
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        profile_uuid TEXT NOT NULL,
                        identifier TEXT NOT NULL,
                        operation TEXT NOT NULL CHECK (operation IN ('install', 'remove')),
                        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'verified', 'failed')),
                        command_uuid TEXT,
                        detail TEXT,
                        retries INTEGER NOT NULL DEFAULT 0,
                        updated_at TEXT NOT NULL,
                        PRIMARY KEY (host_uuid, profile_uuid)
                    );
                    CREATE INDEX host_profile_profile ON host_profile(profile_uuid);

                    CREATE TABLE apply (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        commit_sha TEXT,
                        ref TEXT,
                        plan_hash TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        version TEXT NOT NULL,
                        started_at TEXT NOT NULL,
                        finished_at TEXT NOT NULL,
                        result TEXT NOT NULL CHECK (result IN ('applied', 'failed')),
                        created INTEGER NOT NULL DEFAULT 0,
                        updated INTEGER NOT NULL DEFAULT 0,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        replaced INTEGER NOT NULL DEFAULT 0,
                        detail TEXT
                    );
                    CREATE TRIGGER apply_no_update BEFORE UPDATE ON apply
                        BEGIN SELECT RAISE(ABORT, 'the apply history is append-only'); END;
                    CREATE TRIGGER apply_no_delete BEFORE DELETE ON apply
                        BEGIN SELECT RAISE(ABORT, 'the apply history is append-only'); END;

                    -- Host commands, written in plan order in the apply's transaction and
                    -- drained by the server after it commits.
                    CREATE TABLE command_outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        profile_uuid TEXT NOT NULL,
                        request_type TEXT NOT NULL CHECK (request_type IN ('InstallProfile', 'RemoveProfile')),
                        apply_id INTEGER REFERENCES apply(id),
                        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'acknowledged', 'error')),
                        command_uuid TEXT UNIQUE,
                        created_at TEXT NOT NULL
                    );
                    CREATE INDEX command_outbox_host ON command_outbox(host_uuid, status);

                    CREATE TABLE lock_lease (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        owner TEXT NOT NULL,
                        host TEXT NOT NULL,
                        pid INTEGER NOT NULL,
                        commit_sha TEXT,
                        acquired_at TEXT NOT NULL,
                        expires_at TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-proxy-tokens") { db in
            try db.execute(
                sql: """
                    -- When the device acknowledged an install: until then a rendered
                    -- ('sent') delivery is in flight and its proxy URL is honoured.
                    ALTER TABLE host_profile ADD COLUMN acknowledged_at TEXT;

                    -- One-time tokens in delivered proxy URLs; PKIOperation consumes them.
                    CREATE TABLE proxy_token (
                        token TEXT PRIMARY KEY NOT NULL,
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        profile_uuid TEXT NOT NULL,
                        ca_name TEXT NOT NULL,
                        expires_at TEXT NOT NULL
                    );
                    CREATE INDEX proxy_token_delivery ON proxy_token(host_uuid, profile_uuid);
                    """)
        }
        migrator.registerMigration("v3-rendered-commands") { db in
            try db.execute(
                sql: """
                    -- The worker renders a queued row into its MDM command: the command plist
                    -- (with the profile filled for the host) and its CommandUUID.
                    ALTER TABLE command_outbox ADD COLUMN payload BLOB;
                    ALTER TABLE command_outbox ADD COLUMN updated_at TEXT;
                    CREATE INDEX command_outbox_unrendered ON command_outbox(id) WHERE payload IS NULL;
                    """)
        }
        migrator.registerMigration("v4-mdm-channel") { db in
            try db.execute(
                sql: """
                    -- The device identity bound to a host at Authenticate: hex SHA-256 of its
                    -- certificate. One identity per host, and an identity serves one host only.
                    CREATE TABLE device_identity (
                        fingerprint TEXT PRIMARY KEY NOT NULL,
                        host_uuid TEXT NOT NULL UNIQUE REFERENCES host(uuid) ON DELETE CASCADE,
                        bound_at TEXT NOT NULL
                    );
                    ALTER TABLE host ADD COLUMN push_token TEXT;
                    ALTER TABLE host ADD COLUMN push_magic TEXT;
                    ALTER TABLE host ADD COLUMN push_topic TEXT;
                    -- A command the device answered NotNow to: not offered again in reply to that answer.
                    ALTER TABLE command_outbox ADD COLUMN not_now INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v5-profile-list") { db in
            // SQLite cannot change a CHECK in place: the outbox is rebuilt to take
            // ProfileList, a command that belongs to no profile.
            try db.execute(
                sql: """
                    CREATE TABLE command_outbox_v5 (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        profile_uuid TEXT NOT NULL,
                        request_type TEXT NOT NULL
                            CHECK (request_type IN ('InstallProfile', 'RemoveProfile', 'ProfileList')),
                        apply_id INTEGER REFERENCES apply(id),
                        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'acknowledged', 'error')),
                        command_uuid TEXT UNIQUE,
                        created_at TEXT NOT NULL,
                        payload BLOB,
                        updated_at TEXT,
                        not_now INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO command_outbox_v5 SELECT id, host_uuid, profile_uuid, request_type, apply_id, status,
                        command_uuid, created_at, payload, updated_at, not_now FROM command_outbox;
                    DROP TABLE command_outbox;
                    ALTER TABLE command_outbox_v5 RENAME TO command_outbox;
                    CREATE INDEX command_outbox_host ON command_outbox(host_uuid, status);
                    CREATE INDEX command_outbox_unrendered ON command_outbox(id) WHERE payload IS NULL;

                    -- When the host last got a ProfileList command.
                    ALTER TABLE host ADD COLUMN profile_list_at TEXT;

                    -- Managed profiles a host reported that the state did not deliver (for drift).
                    CREATE TABLE host_unexpected_profile (
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        identifier TEXT NOT NULL,
                        seen_at TEXT NOT NULL,
                        PRIMARY KEY (host_uuid, identifier)
                    );
                    """)
        }
        migrator.registerMigration("v6-push-stale") { db in
            // APNs said the token is gone (410, BadDeviceToken): no pushes until a TokenUpdate.
            try db.execute(sql: "ALTER TABLE host ADD COLUMN push_stale_at TEXT")
        }
        migrator.registerMigration("v7-outbox-delivery-index") { db in
            // Finding a delivery's latest command must not scan the queue.
            try db.execute(sql: "CREATE INDEX command_outbox_delivery ON command_outbox(host_uuid, profile_uuid, id)")
        }
        migrator.registerMigration("v8-render-at-fetch") { db in
            // Rendered commands held the CA challenge in clear. Commands are now rendered
            // when a device fetches them, in memory; the queue keeps only what to render.
            try db.execute(
                sql: """
                    UPDATE command_outbox SET payload = NULL;
                    DROP INDEX command_outbox_unrendered;
                    CREATE INDEX command_outbox_unassigned ON command_outbox(id) WHERE command_uuid IS NULL;
                    """)
        }
        migrator.registerMigration("v9-certificate-list") { db in
            // The outbox is rebuilt once more for CertificateList (SQLite cannot change a
            // CHECK in place); what hosts list is kept for drift.
            try db.execute(
                sql: """
                    CREATE TABLE command_outbox_v9 (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        profile_uuid TEXT NOT NULL,
                        request_type TEXT NOT NULL
                            CHECK (request_type IN ('InstallProfile', 'RemoveProfile', 'ProfileList', 'CertificateList')),
                        apply_id INTEGER REFERENCES apply(id),
                        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'acknowledged', 'error')),
                        command_uuid TEXT UNIQUE,
                        created_at TEXT NOT NULL,
                        payload BLOB,
                        updated_at TEXT,
                        not_now INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO command_outbox_v9 SELECT id, host_uuid, profile_uuid, request_type, apply_id, status,
                        command_uuid, created_at, payload, updated_at, not_now FROM command_outbox;
                    DROP TABLE command_outbox;
                    ALTER TABLE command_outbox_v9 RENAME TO command_outbox;
                    CREATE INDEX command_outbox_host ON command_outbox(host_uuid, status);
                    CREATE INDEX command_outbox_delivery ON command_outbox(host_uuid, profile_uuid, id);
                    CREATE INDEX command_outbox_unassigned ON command_outbox(id) WHERE command_uuid IS NULL;

                    -- The certificates each host listed in its last CertificateList answer.
                    CREATE TABLE host_certificate (
                        host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
                        fingerprint TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        not_after TEXT NOT NULL,
                        is_identity INTEGER NOT NULL,
                        seen_at TEXT NOT NULL,
                        PRIMARY KEY (host_uuid, fingerprint)
                    );
                    """)
        }
        migrator.registerMigration("v10-application-id") { db in
            // Marks the file as a scepops state, so that an empty file or another program's
            // database is refused rather than migrated in place.
            try db.execute(sql: "PRAGMA application_id = \(SQLiteStore.applicationID)")
        }
        migrator.registerMigration("v11-hardening") { db in
            try db.execute(
                sql: """
                    -- A re-delivery after a spent token waits out its backoff.
                    ALTER TABLE command_outbox ADD COLUMN not_before TEXT;
                    -- Tokens of this delivery spent without a certificate (CA failure, expiry).
                    ALTER TABLE host_profile ADD COLUMN upstream_failures INTEGER NOT NULL DEFAULT 0;
                    -- Set with the commands a host was given, cleared once it was pushed: a
                    -- server killed between the two pushes after its restart.
                    ALTER TABLE host ADD COLUMN push_due_at TEXT;
                    CREATE INDEX host_push_due ON host(push_due_at) WHERE push_due_at IS NOT NULL;
                    -- The bound identity let go of the host (CheckOut): a new one may take it.
                    ALTER TABLE device_identity ADD COLUMN checked_out_at TEXT;
                    -- An operator's allowance for the host to enroll with a new identity.
                    ALTER TABLE host ADD COLUMN reenroll_allowed_until TEXT;
                    """)
        }
        migrator.registerMigration("v12-claims") { db in
            try db.execute(
                sql: """
                    -- A worker's claim on an unassigned command, and on a host's push: no other
                    -- worker takes them until the claim expires.
                    ALTER TABLE command_outbox ADD COLUMN claimed_until TEXT;
                    ALTER TABLE host ADD COLUMN push_claimed_until TEXT;
                    """)
        }
        migrator.registerMigration("v13-api-tokens") { db in
            try db.execute(sql: Self.apiTokenTable)
        }
        migrator.registerMigration("v14-renewal") { db in
            try db.execute(sql: Self.renewalColumns + "\n" + Self.renewalAttempts(id: "INTEGER PRIMARY KEY AUTOINCREMENT"))
        }
        return migrator
    }

    /// A CA's `renewal:` settings, and what renewal reads of each certificate a host lists:
    /// its serial, its start, and the profile whose renewal id its Subject carries (nil:
    /// unmanaged). The same on both backends; `renewal_before` in whole seconds.
    static let renewalColumns = """
        ALTER TABLE certificate_authority ADD COLUMN renewal_before INTEGER;
        ALTER TABLE certificate_authority ADD COLUMN renewal_max_per_hour INTEGER;
        ALTER TABLE host_certificate ADD COLUMN serial TEXT;
        ALTER TABLE host_certificate ADD COLUMN not_before TEXT;
        ALTER TABLE host_certificate ADD COLUMN profile_uuid TEXT;

        -- The certificate each host stands on for each profile that delivered one (the newest
        -- valid one listed; its expiry never moves back), and the renewal of it.
        CREATE TABLE host_profile_certificate (
            host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
            profile_uuid TEXT NOT NULL,
            serial TEXT NOT NULL,
            subject TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            not_before TEXT NOT NULL,
            not_after TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            renewal_state TEXT NOT NULL DEFAULT 'none'
                CHECK (renewal_state IN ('none', 'due', 'in_progress', 'renewed', 'failed')),
            renewal_attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            retry_at TEXT,
            replacing_serial TEXT,
            replacing_not_after TEXT,
            PRIMARY KEY (host_uuid, profile_uuid)
        );
        """

    /// Every renewal attempt: the certificate it replaces, the one that came back, the result.
    /// The starts within the last hour are each CA's count against its hourly limit.
    static func renewalAttempts(id: String) -> String {
        """
        CREATE TABLE renewal_attempt (
            id \(id),
            host_uuid TEXT NOT NULL REFERENCES host(uuid) ON DELETE CASCADE,
            profile_uuid TEXT NOT NULL,
            ca_name TEXT NOT NULL,
            old_serial TEXT NOT NULL,
            old_not_after TEXT NOT NULL,
            new_serial TEXT,
            new_not_after TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            result TEXT NOT NULL CHECK (result IN ('in_progress', 'renewed', 'failed')),
            detail TEXT
        );
        CREATE INDEX renewal_attempt_ca ON renewal_attempt(ca_name, started_at);
        CREATE INDEX renewal_attempt_record ON renewal_attempt(host_uuid, profile_uuid, id);
        """
    }

    /// The admin API's tokens, by digest (never the token); the same on both backends.
    static let apiTokenTable = """
        CREATE TABLE api_token (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('read', 'plan', 'apply')),
            digest TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            last_used_at TEXT
        );
        """
}
