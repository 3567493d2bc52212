import Synchronization

// Why this exists: when PostgreSQL restarts while a query is in flight, postgres-nio 1.33 can leave
// that query waiting forever, deaf to cancellation (found by the audit soak test). A task group
// would wait for such a child forever too, so callers that must make progress (batch writers,
// readiness probes) run the work in its own task and stop waiting at the deadline.

/// Runs `body` in its own task and returns its result, or throws ``DeadlineExceeded`` after `timeout`
/// without waiting for `body` (which is cancelled and left to finish, or not, on its own).
public func abandoning<T: Sendable>(after timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        // Unstructured on purpose: the point is to stop waiting for `body`, which a child task cannot do.
        let work = Task {
            do {
                once.resume(with: .success(try await body()))
            } catch {
                once.resume(with: .failure(error))
            }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            work.cancel()
            once.resume(with: .failure(DeadlineExceeded(timeout: timeout)))
        }
        once.onResume { timer.cancel() }
    }
}

/// A continuation resumed exactly once, by whichever side comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, onResume: (@Sendable () -> Void)?, done: Bool)>(
        (nil, nil, false)
    )

    func set(_ continuation: CheckedContinuation<T, any Error>) { self.state.withLock { $0.continuation = continuation } }

    func onResume(_ action: @escaping @Sendable () -> Void) {
        let runNow = self.state.withLock { state -> Bool in
            if state.done { return true }
            state.onResume = action
            return false
        }
        if runNow { action() }
    }

    func resume(with result: Result<T, any Error>) {
        let (continuation, action) = self.state.withLock { state -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !state.done else { return (nil, nil) }
            state.done = true
            defer { state.continuation = nil }
            return (state.continuation, state.onResume)
        }
        continuation?.resume(with: result)
        action?()
    }
}

/// An operation run with ``abandoning(after:_:)`` did not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var timeout: Duration
    public var description: String { "did not finish within \(self.timeout)" }
}
