extension Migrations {
    /// Sign-in through upstream identity providers (issue 12, "Upstream identity providers").
    ///
    /// `user_identities` links a Gatehouse user to a person at a provider by (provider, subject):
    /// OpenID Connect Core §2 calls `sub` "A locally unique and never reassigned identifier within
    /// the Issuer for the End-User", so the pair, never the e-mail address, is the identity. The
    /// address and name the provider last sent are kept beside it. `linked_by` says whether the
    /// first sign-in created the link (`sign-in`) or an operator did (`operator`, `users link`),
    /// which lets that person in whatever the `allow` rules say.
    ///
    /// `federated_logins` is the upstream authorization request in flight: the SHA-256 of its
    /// `state`, bound to the pending Gatehouse authorization request and to the browser (the
    /// SHA-256 of a random cookie), with the `nonce` and PKCE verifier it needs at the callback.
    /// Single-use (deleted when the callback arrives), 10 minutes.
    static let userIdentities = Migration(version: 14, name: "user identities", statements: [
        """
        CREATE TABLE user_identities (
            provider_id text NOT NULL,
            subject text NOT NULL,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            email text,
            name text,
            linked_by text NOT NULL CHECK (linked_by IN ('sign-in', 'operator')),
            linked_at timestamptz NOT NULL,
            last_sign_in_at timestamptz,
            PRIMARY KEY (provider_id, subject)
        )
        """,
        "CREATE INDEX user_identities_user ON user_identities (user_id)",
        """
        CREATE TABLE federated_logins (
            state_hash bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
            provider_id text NOT NULL,
            request_id text NOT NULL,
            browser_binding_hash bytea NOT NULL CHECK (octet_length(browser_binding_hash) = 32),
            nonce text NOT NULL,
            code_verifier text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX federated_logins_expiry ON federated_logins (expires_at)",
    ])
}
