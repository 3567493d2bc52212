public import Foundation

/// A nats-server of the test's own (JetStream, the project's config), so a test can restart it, or
/// serve request subjects that the stack `make test` runs must not answer.
public final class NATSServerProcess: @unchecked Sendable {
    // Safety: only the test task touches `process` and `port`.
    /// The client port: chosen by nats-server on the first start (no guessing a free port, which
    /// collided with the kernel's ephemeral ports in CI), reused on restarts.
    public private(set) var port: Int = 0
    public let storeDirectory: URL
    private var process: Process?

    /// Extra configuration appended after the project's (e.g. a `tls {}` block).
    public var extraConfiguration: String?

    public init() throws {
        self.storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-nats-\(UUID())")
        try FileManager.default.createDirectory(at: self.storeDirectory, withIntermediateDirectories: true)
    }

    public var url: String { "nats://127.0.0.1:\(self.port)" }

    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("NATS_SERVER_BIN"))
        var configuration = try TestEnvironment.require("NATS_CONFIG")
        if let extra = self.extraConfiguration {
            let file = self.storeDirectory.appendingPathComponent("nats.conf")
            var base = try String(contentsOfFile: configuration, encoding: .utf8)
            // A test that brings its own authorization replaces the project's users.
            if extra.contains("authorization"), let begin = base.range(of: "# BEGIN authorization"),
                let end = base.range(of: "# END authorization")
            {
                base.removeSubrange(begin.lowerBound..<end.upperBound)
            }
            try "\(base)\n\(extra)\n".write(to: file, atomically: true, encoding: .utf8)
            configuration = file.path
        }
        let portsDirectory = self.storeDirectory.appendingPathComponent("ports-\(UUID())")
        try FileManager.default.createDirectory(at: portsDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: portsDirectory) }
        process.arguments = [
            "-c", configuration, "-a", "127.0.0.1", "-p", self.port == 0 ? "-1" : "\(self.port)", "-m", "0", "-sd",
            self.storeDirectory.path, "--ports_file_dir", portsDirectory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.port = try await self.waitForPortsFile(in: portsDirectory, of: process)
        try await self.waitUntilListening()
    }

    /// nats-server writes `{"nats":["nats://127.0.0.1:PORT"]}` once its client listener is bound.
    private func waitForPortsFile(in directory: URL, of process: Process, timeout: TimeInterval = 10) async throws -> Int {
        struct Ports: Decodable { var nats: [String] }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, process.isRunning {
            if let name = try FileManager.default.contentsOfDirectory(atPath: directory.path).first(where: { $0.hasSuffix(".ports") }),
                let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
                let ports = try? JSONDecoder().decode(Ports.self, from: data),
                let url = ports.nats.first.flatMap(URL.init(string:)), let port = url.port
            {
                return port
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ServerDidNotStart(port: self.port)
    }

    /// Polls the client port with a deadline (no sleeps standing in for readiness), suspending
    /// between polls rather than blocking one of the few cooperative threads.
    private func waitUntilListening(timeout: TimeInterval = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(self.port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerDidNotStart(port: self.port)
    }

    public func stop() {
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

public struct ServerDidNotStart: Error {
    public var port: Int
}
