package import Crypto
package import Foundation
package import GatehouseWire

/// Crypto-shredding (docs/audit.md): an event about a person is stored encrypted under that
/// person's own data key; erasing the person destroys the key, and their records become
/// pseudonymous while the chain, which covers the stored (encrypted) bytes, still verifies.
///
/// Data keys are random 256-bit AES keys, kept in `audit.person_keys` wrapped (AES-GCM) with the
/// service's key-encryption key (`audit.dataKey`), so a database dump alone does not reveal them.
package struct PersonKeyring: Sendable {
    let keyEncryptionKey: SymmetricKey

    /// `keyEncryptionKey` must be 32 bytes.
    package init(keyEncryptionKey: [UInt8]) {
        precondition(keyEncryptionKey.count == 32, "the key-encryption key is 32 bytes")
        self.keyEncryptionKey = SymmetricKey(data: keyEncryptionKey)
    }

    /// A keyring with a random key-encryption key: for tests and benchmarks only (what it wraps is
    /// unreadable after a restart).
    package static func ephemeral() -> PersonKeyring {
        PersonKeyring(keyEncryptionKey: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// A new data key, and its wrapped form for storage.
    package func makeKey(tenant: TenantID, person: UUID) throws -> (key: SymmetricKey, wrapped: [UInt8]) {
        let key = SymmetricKey(size: .bits256)
        let wrapped = try key.withUnsafeBytes { raw in
            try AES.GCM.seal(Array(raw), using: self.keyEncryptionKey, authenticating: Self.keyContext(tenant, person))
        }
        return (key, Array(wrapped.combined!))
    }

    /// The data key from its stored form; fails when it was not wrapped by this keyring for this person.
    package func unwrap(_ wrapped: [UInt8], tenant: TenantID, person: UUID) throws -> SymmetricKey {
        let box = try AES.GCM.SealedBox(combined: wrapped)
        return SymmetricKey(data: try AES.GCM.open(box, using: self.keyEncryptionKey, authenticating: Self.keyContext(tenant, person)))
    }

    /// `nonce ‖ ciphertext ‖ tag` of an event, bound to its tenant and id (a sealed event copied onto
    /// another record does not open).
    package static func seal(_ raw: [UInt8], with key: SymmetricKey, tenant: TenantID, eventID: UUID) throws -> [UInt8] {
        Array(try AES.GCM.seal(raw, using: key, authenticating: Self.eventContext(tenant, eventID)).combined!)
    }

    package static func open(_ sealed: [UInt8], with key: SymmetricKey, tenant: TenantID, eventID: UUID) throws -> [UInt8] {
        Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Self.eventContext(tenant, eventID)))
    }

    static func keyContext(_ tenant: TenantID, _ person: UUID) -> [UInt8] {
        Array("gatehouse.audit.person-key.v1|\(tenant)|\(person.lowercasedString)".utf8)
    }

    static func eventContext(_ tenant: TenantID, _ eventID: UUID) -> [UInt8] {
        Array("gatehouse.audit.event.v1|\(tenant)|\(eventID.lowercasedString)".utf8)
    }
}
