import Configuration
import Foundation
import ServiceKit

/// A 32-byte key the CLI needs: from its configuration key (`GATEHOUSE_…` in the environment), or,
/// on a machine running `make up`, from `.gatehouse/secrets/<name>` where `scripts/common.sh`
/// (`secret NAME`) keeps it. `nil` when neither holds 32 bytes of base64.
enum LocalSecrets {
    static func key(configKey: ConfigKey, name: String) async throws -> [UInt8]? {
        let config = try await ServiceMain.makeConfigReader().scoped(to: "gatehouse")
        if let key = try config.secretKey(forKey: configKey) { return key }
        guard let local = try? String(contentsOfFile: ".gatehouse/secrets/\(name)", encoding: .utf8),
            let raw = Data(base64Encoded: local.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32
        else { return nil }
        return Array(raw)
    }
}
