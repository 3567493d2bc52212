public import Foundation
import Synchronization

/// What a command-line tool did.
public struct ToolRun: Sendable {
    public var status: Int32
    /// Standard output and error, interleaved.
    public var output: String
    /// Whether it was killed at the deadline.
    public var timedOut: Bool
}

/// Runs a tool (sipp, baresip, sipvicious…) to completion without blocking a thread of the
/// cooperative pool; kills it at `timeout`. Output goes through a file, so a chatty tool never
/// blocks on a full pipe.
public func runTool(
    _ path: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    directory: URL? = nil,
    timeout: Duration = .seconds(60)
) async throws -> ToolRun {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-tool-\(UUID()).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    let box = ProcessBox(process)
    let status: Int32 = try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                if box.process.isRunning {
                    box.timedOut.withLock { $0 = true }
                    box.process.terminate()
                    // Some tools (sipp) ignore SIGTERM while they wait.
                    try? await Task.sleep(for: .seconds(2))
                    if box.process.isRunning { kill(box.process.processIdentifier, SIGKILL) }
                }
            }
        }
    } onCancel: {
        if box.process.isRunning { box.process.terminate() }
    }
    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    return ToolRun(status: status, output: output, timedOut: box.timedOut.withLock { $0 })
}

/// Process is thread-safe for the calls made here (isRunning, terminate).
private final class ProcessBox: @unchecked Sendable {
    let process: Process
    let timedOut = Mutex(false)
    init(_ process: Process) { self.process = process }
}
