import Foundation
import ServiceKitTesting

/// A nats-server of the test's own (JetStream, the project's config), so a test can restart it.
final class NATSServerProcess: @unchecked Sendable {
    // Safety: only the test task touches `process`.
    let port: Int
    let storeDirectory: URL
    private var process: Process?

    init() throws {
        self.port = Int.random(in: 30_000..<40_000)
        self.storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-nats-\(UUID())")
        try FileManager.default.createDirectory(at: self.storeDirectory, withIntermediateDirectories: true)
    }

    var url: String { "nats://127.0.0.1:\(self.port)" }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("NATS_SERVER_BIN"))
        process.arguments = [
            "-c", try TestEnvironment.require("NATS_CONFIG"), "-a", "127.0.0.1", "-p", "\(self.port)", "-m", "0",
            "-sd", self.storeDirectory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    func stop() {
        guard let process = self.process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        self.stop()
        try? FileManager.default.removeItem(at: self.storeDirectory)
    }
}
