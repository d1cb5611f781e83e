extension Migrations {
    /// Federated sign-ins in flight no longer keep their secrets in plain (issue 12). The PKCE
    /// verifier is sealed under the key-encryption key (`code_verifier_sealed`, AES-256-GCM with
    /// the `state` hash as associated data, as `connection_states` does), and the `nonce` is not
    /// stored at all: it is derived from the `state` (`FederatedLoginStore.nonce(for:)`), which
    /// only its SHA-256 is kept of. The plain columns become nullable and are written NULL; this
    /// release still reads them, so a sign-in started by a replica of the previous release during
    /// a rolling upgrade finishes on either (one started here and sent back to an old replica
    /// must be started again). A later migration drops them.
    static let federatedLoginSecrets = Migration(version: 16, name: "federated login secrets sealed", statements: [
        "ALTER TABLE federated_logins ADD COLUMN code_verifier_sealed bytea",
        "ALTER TABLE federated_logins ALTER COLUMN nonce DROP NOT NULL",
        "ALTER TABLE federated_logins ALTER COLUMN code_verifier DROP NOT NULL",
    ])
}
