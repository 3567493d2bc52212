public import Configuration
import ServiceKit

/// Access control's settings (docs/operations.md, "access").
public struct AccessConfiguration: Sendable {
    /// `access.secretKey` (secret, required; `GATEHOUSE_ACCESS_SECRET_KEY`): 32 bytes in base64 that
    /// seal the door stations' HTTP API passwords and webhook secrets at rest.
    public var secretKey: [UInt8]
    /// `access.commandDeadlineMs` (default 3000, 200…30000): how long a door command may take when
    /// the door's controller names no deadline of its own. A command that misses it is abandoned.
    public var commandDeadlineMilliseconds: Int

    public static let deadlineRange = 200...30_000

    public init(secretKey: [UInt8], commandDeadlineMilliseconds: Int = 3_000) {
        self.secretKey = secretKey
        self.commandDeadlineMilliseconds = commandDeadlineMilliseconds
    }

    public init(config: ConfigReader) throws {
        self.secretKey = try config.requiredSecretKey(forKey: "access.secretKey", environment: "GATEHOUSE_ACCESS_SECRET_KEY")
        let deadline = config.int(forKey: "access.commandDeadlineMs", default: 3_000)
        guard Self.deadlineRange.contains(deadline) else {
            throw GatehouseError.invalidConfiguration("access.commandDeadlineMs must be from 200 to 30000")
        }
        self.commandDeadlineMilliseconds = deadline
    }
}
