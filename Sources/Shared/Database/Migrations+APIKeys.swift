extension Migrations {
    /// API keys for header-only clients (issue 13): `gh_pat_…` keys an operator creates with
    /// `AuthServer tokens create`, each bound to one user, one resource and a set of that resource's
    /// scopes, always expiring. Only the SHA-256 of the key's random part is stored (`secret_hash`);
    /// the ResourceServer looks a key up by it. A revoked key keeps its row (`revoked_at`) and is
    /// also listed in `revoked_access_tokens` as `pat-<id>`, so the revocation feed refuses it
    /// within a second on every replica.
    static let apiKeys = Migration(version: 10, name: "api keys", statements: [
        """
        CREATE TABLE api_keys (
            id uuid PRIMARY KEY,
            secret_hash bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
            name text,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            client_label text NOT NULL,
            resource text NOT NULL,
            scope text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            last_used_at timestamptz,
            revoked_at timestamptz
        )
        """,
        "CREATE INDEX api_keys_user ON api_keys (user_id)",
    ])
}
