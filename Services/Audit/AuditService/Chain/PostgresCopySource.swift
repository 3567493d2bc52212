import CLibPQ
import Foundation
import NIOConcurrencyHelpers
package import PostgresNIO
package import ServiceKit

/// Streams the rows of a query out of PostgreSQL with `COPY (…) TO STDOUT (FORMAT binary)`, through
/// libpq on a thread of its own (decision 0017).
///
/// postgres-nio has no COPY TO. Verifying a chain reads every record once; through a COPY stream
/// PostgreSQL sends each row as one message without the extended protocol's per-row state, and this
/// side reads it in place, which is what lets verification outrun the records' own SELECT.
///
/// Connections are opened on demand and up to ``maxIdleConnections`` are kept for the next COPY (a
/// connection costs PostgreSQL a backend and both sides a SCRAM exchange: about as much as reading
/// 20,000 records).
package final class PostgresCopySource: Sendable {
    /// libpq connection keywords and values. The password is among them: never logged.
    let parameters: [(String, String)]
    /// Connections kept open between copies (the verifier reads two ranges at once).
    package static let maxIdleConnections = 2
    private let idle = IdleConnections()

    /// The same database, user and TLS mode as `configuration` (the services' postgres-nio pool).
    package init(configuration: PostgresClient.Configuration, tls: PostgresTLSMode) {
        // Services reach PostgreSQL over TCP (`postgres.host`, `postgres.port`), never a socket file.
        var parameters = [("host", configuration.host ?? "127.0.0.1"), ("port", String(configuration.port ?? 5432))]
        parameters.append(("user", configuration.username))
        if let password = configuration.password { parameters.append(("password", password)) }
        if let database = configuration.database { parameters.append(("dbname", database)) }
        switch tls {
        case .disable: parameters.append(("sslmode", "disable"))
        case .prefer: parameters.append(("sslmode", "prefer"))
        case .require:
            // postgres-nio's `require` checks the certificate and the host name against the system's
            // trust roots; libpq 15 does that with verify-full and the bundle as its root file.
            parameters.append(("sslmode", "verify-full"))
            parameters.append(("sslrootcert", "/etc/ssl/certs/ca-certificates.crt"))
        }
        parameters.append(("connect_timeout", "5"))
        parameters.append(("application_name", "gatehouse-audit-verify"))
        self.parameters = parameters
    }

    deinit { self.idle.closeAll() }

    /// Runs `COPY (query) TO STDOUT (FORMAT binary)` on a kept connection that ran `setup` (plain
    /// SQL, may be several statements), or on a new one after running it there, and hands each row
    /// to `row` with its `fieldCount` fields located (``CopyTuple``). `row` returns false to stop
    /// early (the connection is then closed, which ends the COPY).
    ///
    /// `row` is called on one thread, one row after another. Cancelling the task cancels the query.
    package func copy(
        setup: String,
        query: String,
        fieldCount: Int,
        row: @escaping @Sendable (CopyTuple) throws -> Bool
    ) async throws {
        let cancel = CancelHandle()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread {
                    continuation.resume(
                        with: Result {
                            try self.run(setup: setup, query: query, fieldCount: fieldCount, cancel: cancel, row: row)
                        }
                    )
                }
                thread.name = "gatehouse-copy"
                thread.start()
            }
        } onCancel: {
            cancel.cancel()
        }
    }

    private func run(
        setup: String,
        query: String,
        fieldCount: Int,
        cancel: CancelHandle,
        row: (CopyTuple) throws -> Bool
    ) throws {
        let copy = "COPY (\(query)) TO STDOUT (FORMAT binary)"
        var connection: OpaquePointer
        if let kept = self.idle.take(setup: setup) {
            connection = kept
            if !Self.start(copy, on: connection) {
                // Most likely a kept connection the server has since closed (a restart, an
                // administrator; libpq may still call it OK): once more, on a new one, which reports
                // any other error.
                PQfinish(kept)
                connection = try self.connect(setup: setup)
                guard Self.start(copy, on: connection) else {
                    defer { PQfinish(connection) }
                    throw CopyError.query(Self.message(connection))
                }
            }
        } else {
            connection = try self.connect(setup: setup)
            guard Self.start(copy, on: connection) else {
                defer { PQfinish(connection) }
                throw CopyError.query(Self.message(connection))
            }
        }
        // Kept for the next copy only when this one read its stream to the end.
        var reusable = false
        defer {
            if reusable { self.idle.put(connection, setup: setup) } else { PQfinish(connection) }
        }
        guard cancel.attach(PQgetCancel(connection)) else { throw CancellationError() }
        defer { cancel.detach() }

        var parser = CopyParser(fieldCount: fieldCount)
        defer { parser.deallocate() }
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(connection, &buffer, 0)
            if length == -1 { break }  // the end of the COPY
            guard length >= 0, let buffer else { throw CopyError.query(Self.message(connection)) }
            defer { PQfreemem(buffer) }
            guard try parser.feed(UnsafeRawBufferPointer(start: buffer, count: Int(length)), row: row) else { return }
        }
        guard parser.finished else { throw CopyError.malformed("the COPY stream ended without its trailer") }
        while let result = PQgetResult(connection) {
            let status = PQresultStatus(result)
            PQclear(result)
            guard status == PGRES_COMMAND_OK else { throw CopyError.query(Self.message(connection)) }
        }
        reusable = PQstatus(connection) == CONNECTION_OK && PQtransactionStatus(connection) == PQTRANS_IDLE
    }

    /// A new connection with `setup` applied.
    private func connect(setup: String) throws -> OpaquePointer {
        let keywords = self.parameters.map { strdup($0.0) }
        let values = self.parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let connection: OpaquePointer? = (keywords.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { keys in
            (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { values in
                PQconnectdbParams(keys.baseAddress, values.baseAddress, 0)
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            defer { PQfinish(connection) }
            throw CopyError.connect(Self.message(connection))
        }
        do {
            try Self.execute(setup, on: connection)
        } catch {
            PQfinish(connection)
            throw error
        }
        return connection
    }

    /// Sends `copy`; true once the server streams its rows.
    private static func start(_ copy: String, on connection: OpaquePointer) -> Bool {
        guard let result = PQexec(connection, copy) else { return false }
        defer { PQclear(result) }
        return PQresultStatus(result) == PGRES_COPY_OUT
    }

    private static func execute(_ sql: String, on connection: OpaquePointer) throws {
        guard let result = PQexec(connection, sql) else { throw CopyError.query(Self.message(connection)) }
        let status = PQresultStatus(result)
        PQclear(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw CopyError.query(Self.message(connection)) }
    }

    private static func message(_ connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "out of memory" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Open connections waiting for the next copy, each with the setup it ran.
    ///
    /// `@unchecked Sendable`: the libpq connections are only handed out and taken back under the
    /// lock, and each is used by one thread at a time.
    private final class IdleConnections: @unchecked Sendable {
        private let lock = NIOLock()
        private var connections: [(connection: OpaquePointer, setup: String)] = []

        /// An idle connection that ran `setup`, if one is open.
        func take(setup: String) -> OpaquePointer? {
            self.lock.withLock {
                guard let index = self.connections.firstIndex(where: { $0.setup == setup }) else { return nil }
                return self.connections.remove(at: index).connection
            }
        }

        func put(_ connection: OpaquePointer, setup: String) {
            let kept = self.lock.withLock {
                guard self.connections.count < PostgresCopySource.maxIdleConnections else { return false }
                self.connections.append((connection, setup))
                return true
            }
            if !kept { PQfinish(connection) }
        }

        func closeAll() {
            let closing = self.lock.withLock {
                defer { self.connections.removeAll() }
                return self.connections
            }
            closing.forEach { PQfinish($0.connection) }
        }
    }

    /// Hands libpq's cancel request to whichever thread cancels the task.
    ///
    /// `@unchecked Sendable`: its state (a libpq `PGcancel`, which libpq lets any thread use) is only
    /// touched under the lock.
    private final class CancelHandle: @unchecked Sendable {
        private let lock = NIOLock()
        private var handle: OpaquePointer?
        private var cancelled = false

        /// False when the task was cancelled before the query started.
        func attach(_ handle: OpaquePointer?) -> Bool {
            self.lock.withLock {
                self.handle = handle
                return !self.cancelled
            }
        }

        func detach() {
            self.lock.withLock {
                PQfreeCancel(self.handle)
                self.handle = nil
            }
        }

        func cancel() {
            self.lock.withLock {
                self.cancelled = true
                guard let handle = self.handle else { return }
                var error = [CChar](repeating: 0, count: 256)
                _ = PQcancel(handle, &error, Int32(error.count))
            }
        }
    }
}

package enum CopyError: Error, CustomStringConvertible {
    case connect(String)
    case query(String)
    case malformed(String)

    package var description: String {
        switch self {
        case .connect(let message): "PostgreSQL connection for COPY failed: \(message)"
        case .query(let message): "COPY failed: \(message)"
        case .malformed(let message): "COPY stream malformed: \(message)"
        }
    }
}

/// One row of a binary COPY stream: its bytes and where each field lies in them (`count` -1: NULL).
package struct CopyTuple {
    package typealias Field = (offset: Int, count: Int)

    package let bytes: UnsafeRawBufferPointer
    package let fields: UnsafeBufferPointer<Field>

    /// Field `index`'s bytes; nil for NULL.
    package func field(_ index: Int) -> UnsafeRawBufferPointer? {
        let field = self.fields[index]
        guard field.count >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: self.bytes[field.offset..<field.offset + field.count])
    }
}

/// Splits a binary COPY stream (PostgreSQL's documented file format: signature, flags, header
/// extension, then tuples of a 16-bit field count and length-prefixed fields, ended by a count of
/// -1) into tuples, whatever the chunks' boundaries. PostgreSQL sends one row per message, so rows are
/// read in place; only a row split across messages is copied.
struct CopyParser {
    static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    let fieldCount: Int
    private let fields: UnsafeMutableBufferPointer<CopyTuple.Field>
    private var pending: [UInt8] = []
    private var headerRead = false
    private(set) var finished = false

    init(fieldCount: Int) {
        self.fieldCount = fieldCount
        self.fields = .allocate(capacity: max(fieldCount, 1))
    }

    func deallocate() { self.fields.deallocate() }

    /// Feeds the next chunk; false once `row` asked to stop.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, row: (CopyTuple) throws -> Bool) throws -> Bool {
        if self.pending.isEmpty {
            let used = try self.parse(chunk, row: row)
            guard let used else { return false }
            self.pending.append(contentsOf: chunk[used...])
            return true
        }
        self.pending.append(contentsOf: chunk)
        let pending = self.pending
        let used = try pending.withUnsafeBytes { try self.parse($0, row: row) }
        guard let used else { return false }
        self.pending.removeFirst(used)
        return true
    }

    /// Parses what is complete in `bytes`; returns how many bytes it used (nil: `row` asked to stop).
    private mutating func parse(_ bytes: UnsafeRawBufferPointer, row: (CopyTuple) throws -> Bool) throws -> Int? {
        var position = 0
        if !self.headerRead {
            let fixed = Self.signature.count + 8
            guard bytes.count >= fixed else { return 0 }
            guard bytes.prefix(Self.signature.count).elementsEqual(Self.signature) else { throw CopyError.malformed("no PGCOPY signature") }
            let extensionLength = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: Self.signature.count + 4, as: UInt32.self)))
            guard bytes.count >= fixed + extensionLength else { return 0 }
            position = fixed + extensionLength
            self.headerRead = true
        }
        while !self.finished {
            guard bytes.count - position >= 2 else { break }
            let count = Int(Int16(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: Int16.self)))
            if count == -1 {
                self.finished = true
                position += 2
                break
            }
            guard count == self.fieldCount else { throw CopyError.malformed("a row has \(count) fields, not \(self.fieldCount)") }
            var cursor = position + 2
            var complete = true
            for index in 0..<count {
                guard bytes.count - cursor >= 4 else {
                    complete = false
                    break
                }
                let length = Int(Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: Int32.self)))
                cursor += 4
                guard length >= -1 else { throw CopyError.malformed("a field of negative length") }
                guard bytes.count - cursor >= max(length, 0) else {
                    complete = false
                    break
                }
                self.fields[index] = (cursor - position, length)
                cursor += max(length, 0)
            }
            guard complete else { break }
            let tuple = CopyTuple(
                bytes: UnsafeRawBufferPointer(rebasing: bytes[position..<cursor]),
                fields: UnsafeBufferPointer(self.fields)
            )
            guard try row(tuple) else { return nil }
            position = cursor
        }
        return position
    }
}
