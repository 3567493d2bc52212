internal import CNats
import Dispatch

/// Helpers at the boundary with libnats. Every unsafe pointer of the module is handled here or in
/// the type that owns it.
enum CBridge {
    /// Throws a ``NATSError`` for a failed status, with libnats' last error text of *this* thread.
    static func check(_ status: natsStatus, _ operation: String) throws {
        guard status != NATS_OK else { return }
        throw self.error(status, operation)
    }

    static func error(_ status: natsStatus, _ operation: String) -> NATSError {
        let text = nats_GetLastError(nil).map { String(cString: $0) } ?? ""
        let statusText = String(cString: natsStatus_GetText(status))
        let message = text.isEmpty || text == statusText ? "\(operation): \(statusText)" : "\(operation): \(statusText) (\(text))"
        switch status {
        case NATS_TIMEOUT: return .init(code: .timeout, message: message)
        case NATS_NO_RESPONDERS: return .init(code: .noResponders, message: message)
        case NATS_CONNECTION_CLOSED, NATS_CONNECTION_DISCONNECTED: return .init(code: .connectionClosed, message: message)
        case NATS_NOT_FOUND: return .init(code: .notFound, message: message)
        case NATS_INVALID_ARG, NATS_INVALID_SUBJECT, NATS_MAX_PAYLOAD: return .init(code: .invalidArgument, message: message)
        default: return .init(code: .library, message: message)
        }
    }

    /// Copies a message out of libnats. Does not destroy it: the caller owns that.
    static func copy(_ msg: OpaquePointer) -> NATSMessage {
        let subject = String(cString: natsMsg_GetSubject(msg))
        let reply = natsMsg_GetReply(msg).map { String(cString: $0) }
        let length = Int(natsMsg_GetDataLength(msg))
        var payload: [UInt8] = []
        if length > 0, let data = natsMsg_GetData(msg) {
            payload = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
        }
        return NATSMessage(subject: subject, replyTo: reply, headers: self.headers(of: msg), payload: payload)
    }

    static func headers(of msg: OpaquePointer) -> NATSHeaders {
        var headers = NATSHeaders()
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK, let keys else {
            if natsMsg_IsNoResponders(msg) { headers[NATSHeaders.statusName] = "503" }
            return headers
        }
        defer { free(UnsafeMutableRawPointer(mutating: keys)) }
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(msg, key, &values, &valueCount) == NATS_OK, let values else { continue }
            let name = String(cString: key)
            for valueIndex in 0..<Int(valueCount) {
                if let value = values[valueIndex] { headers.add(String(cString: value), for: name) }
            }
            free(UnsafeMutableRawPointer(mutating: values))
        }
        if natsMsg_IsNoResponders(msg), headers[NATSHeaders.statusName] == nil {
            headers[NATSHeaders.statusName] = "503"
        }
        return headers
    }

    /// Creates a libnats message with headers. The caller destroys it.
    static func makeMessage(
        subject: String,
        replyTo: String?,
        headers: NATSHeaders,
        payload: UnsafeRawBufferPointer
    ) throws -> OpaquePointer {
        var msg: OpaquePointer?
        let status = natsMsg_Create(
            &msg,
            subject,
            replyTo,
            payload.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(payload.count)
        )
        try self.check(status, "natsMsg_Create")
        guard let msg else { throw NATSError.invalid("natsMsg_Create returned nothing") }
        for (name, value) in headers {
            let status = natsMsgHeader_Add(msg, name, value)
            if status != NATS_OK {
                natsMsg_Destroy(msg)
                throw self.error(status, "natsMsgHeader_Add")
            }
        }
        return msg
    }
}

/// A pointer handed across threads. libnats connections, contexts and stores are thread-safe;
/// messages are not, and are never shared through this box.
struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Runs libnats calls that block their thread (connect, fetch, KV, stream management) off the
/// Swift cooperative pool, which has only as many threads as cores.
enum BlockingExecutor {
    private static let queue = DispatchQueue(label: "gatehouse.nats.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            self.queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
