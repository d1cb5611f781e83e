extension Migrations {
    /// Rate limits and duplicate registrations (issue 13, item 3).
    ///
    /// `rate_limit_counters` holds one row per (bucket, fixed window): `registration:<network>`,
    /// `token:<client_id>`, `authorize:<client_id>`. It is UNLOGGED: counters are not worth a WAL
    /// write per request, and losing them in a crash only forgives one window. The sweeper
    /// deletes windows that have ended.
    ///
    /// On `clients`: the SHA-256 of the raw registration body and the source network it came
    /// from, whether it repeated an earlier live registration byte for byte from that network
    /// within GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW, and the `software_id`/`software_version`
    /// it declared (RFC 7591 §2), so `clients list --by-software` can group registrations.
    static let rateLimits = Migration(version: 12, name: "rate limits and duplicate registrations", statements: [
        """
        CREATE UNLOGGED TABLE rate_limit_counters (
            bucket text NOT NULL,
            window_start timestamptz NOT NULL,
            count integer NOT NULL,
            PRIMARY KEY (bucket, window_start)
        )
        """,
        "ALTER TABLE clients ADD COLUMN registration_hash bytea",
        "ALTER TABLE clients ADD COLUMN source_network text",
        "ALTER TABLE clients ADD COLUMN duplicate boolean NOT NULL DEFAULT false",
        "ALTER TABLE clients ADD COLUMN software_id text",
        "ALTER TABLE clients ADD COLUMN software_version text",
        """
        CREATE INDEX clients_registration_hash ON clients (registration_hash, source_network, created_at)
        WHERE registration_hash IS NOT NULL AND deleted_at IS NULL
        """,
    ])
}
