extension Migrations {
    /// Reaping of unused dynamically registered clients (issue 13): the sweeper asks, per
    /// candidate client, for its newest code, token family, refresh token and access token, and
    /// whether it still holds a live refresh token or code. Without these indexes each question
    /// is a scan of the whole table, once per client; with them the sweep stays cheap when public
    /// registration has filled `clients`.
    ///
    /// `clients.last_used_at` is stamped by `/token` at most once an hour per client and process:
    /// the sweeper deletes expired codes and refresh tokens, so without it a client that used
    /// short-lived tokens last week would look as if it had never been used.
    static let clientReaping = Migration(version: 11, name: "client reaping", statements: [
        "ALTER TABLE clients ADD COLUMN last_used_at timestamptz",
        "CREATE INDEX token_families_client ON token_families (client_id)",
        "CREATE INDEX authorization_codes_client ON authorization_codes (client_id)",
        "CREATE INDEX access_tokens_client ON access_tokens (client_id)",
        "CREATE INDEX clients_live_kind ON clients (registration_kind, created_at) WHERE deleted_at IS NULL",
    ])
}
