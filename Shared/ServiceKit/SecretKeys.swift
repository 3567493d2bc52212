public import Configuration
import Foundation

extension ConfigReader {
    /// A 32-byte key kept as a secret in base64 (`head -c 32 /dev/urandom | base64`): `nil` when
    /// the key is not set, an invalid-configuration error naming the key when it is not 32 bytes.
    public func secretKey(forKey key: ConfigKey) throws -> [UInt8]? {
        guard let text = self.string(forKey: key, isSecret: true) else { return nil }
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw GatehouseError.invalidConfiguration("\(key) must be 32 bytes in base64")
        }
        return Array(raw)
    }

    /// Like ``secretKey(forKey:)``, for a key the service cannot run without.
    public func requiredSecretKey(forKey key: ConfigKey, environment: String) throws -> [UInt8] {
        guard let raw = try self.secretKey(forKey: key) else {
            throw GatehouseError.invalidConfiguration(
                "\(key) (\(environment)) is required: 32 random bytes in base64, e.g. `head -c 32 /dev/urandom | base64`"
            )
        }
        return raw
    }
}
