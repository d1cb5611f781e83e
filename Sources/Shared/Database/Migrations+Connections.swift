extension Migrations {
    /// Per-user connections to third-party APIs (issue 12, "Connections"). `user_connections`
    /// holds one row per (user, connection) with the provider's access and refresh tokens sealed
    /// under the key-encryption key (AES-256-GCM, the user id, connection id and column bound as
    /// associated data: `ConnectionTokenSeal`), so a database reader learns no token and a sealed
    /// value cannot be moved to another user, connection or column. `status` is `broken` once the
    /// provider refused a refresh (the user must connect again). Rows go with the user (disable
    /// deletes them too: `UserStore+Revocation`).
    ///
    /// `connection_states` is the provider authorization request in flight: the `state` value's
    /// SHA-256, bound to the user, to the Gatehouse session (its SHA-256) and optionally to the
    /// pending authorization request the person returns to; the PKCE verifier sealed. Single-use,
    /// 10 minutes.
    static let connections = Migration(version: 15, name: "user connections", statements: [
        """
        CREATE TABLE user_connections (
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            connection_id text NOT NULL,
            access_token_sealed bytea NOT NULL,
            refresh_token_sealed bytea,
            expires_at timestamptz,
            scopes text NOT NULL DEFAULT '',
            status text NOT NULL CHECK (status IN ('live', 'broken')),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (user_id, connection_id)
        )
        """,
        """
        CREATE TABLE connection_states (
            state_hash bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            session_hash bytea NOT NULL,
            connection_id text NOT NULL,
            code_verifier_sealed bytea,
            return_request text,
            expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX connection_states_expiry ON connection_states (expires_at)",
    ])
}
