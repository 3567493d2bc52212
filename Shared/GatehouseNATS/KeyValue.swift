internal import CNats
public import Foundation
import Synchronization

/// A key-value bucket's configuration.
public struct KeyValueConfiguration: Sendable, Hashable {
    public var bucket: String
    /// Values kept per key (1...64).
    public var history: UInt8
    /// Entries older than this expire; `nil` keeps them.
    public var ttl: Duration?
    public var storage: StreamConfiguration.Storage
    public var maxValueSize: Int32

    public init(
        bucket: String,
        history: UInt8 = 1,
        ttl: Duration? = nil,
        storage: StreamConfiguration.Storage = .file,
        maxValueSize: Int32 = -1
    ) {
        self.bucket = bucket
        self.history = history
        self.ttl = ttl
        self.storage = storage
        self.maxValueSize = maxValueSize
    }
}

/// One value of a key.
public struct KeyValueEntry: Sendable, Hashable {
    public enum Operation: Sendable, Hashable { case put, delete, purge }

    public var key: String
    public var value: [UInt8]
    public var revision: UInt64
    public var created: Date
    public var operation: Operation
}

/// A JetStream key-value bucket. Owns its libnats store.
public final class KeyValueStore: @unchecked Sendable {
    // Safety: libnats' kvStore is thread-safe; the pointer never changes.
    private let store: OpaquePointer
    private let handle: NATSConnectionHandle
    public let bucket: String

    /// Blocks.
    init(handle: NATSConnectionHandle, creating configuration: KeyValueConfiguration) throws {
        var config = kvConfig()
        try CBridge.check(kvConfig_Init(&config), "kvConfig_Init")
        var store: OpaquePointer?
        let status = configuration.bucket.withCString { bucket in
            config.Bucket = bucket
            config.History = configuration.history
            config.TTL = configuration.ttl?.nanoseconds ?? 0
            config.StorageType = configuration.storage == .file ? js_FileStorage : js_MemoryStorage
            config.MaxValueSize = configuration.maxValueSize
            return js_CreateKeyValue(&store, handle.jetStreamContext, &config)
        }
        try CBridge.check(status, "create key-value bucket \(configuration.bucket)")
        guard let store else { throw NATSError.invalid("js_CreateKeyValue returned nothing") }
        self.store = store
        self.handle = handle
        self.bucket = configuration.bucket
    }

    /// Blocks.
    init(handle: NATSConnectionHandle, bucket: String) throws {
        var store: OpaquePointer?
        try CBridge.check(js_KeyValue(&store, handle.jetStreamContext, bucket), "open key-value bucket \(bucket)")
        guard let store else { throw NATSError.invalid("js_KeyValue returned nothing") }
        self.store = store
        self.handle = handle
        self.bucket = bucket
    }

    deinit { kvStore_Destroy(self.store) }

    /// The latest value of `key`, or `nil` when it has none (never set, deleted or purged).
    public func get(_ key: String) async throws -> KeyValueEntry? {
        try await BlockingExecutor.run {
            var entry: OpaquePointer?
            let status = kvStore_Get(&entry, self.store, key)
            if status == NATS_NOT_FOUND { return nil }
            try CBridge.check(status, "kv get")
            guard let entry else { return nil }
            defer { kvEntry_Destroy(entry) }
            return Self.copy(entry)
        }
    }

    /// Sets `key`; returns the new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) async throws -> UInt64 {
        try await BlockingExecutor.run {
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Put(&revision, self.store, key, bytes.baseAddress, Int32(bytes.count))
            }
            try CBridge.check(status, "kv put")
            return revision
        }
    }

    /// Sets `key` only when it has no value; throws ``NATSError/Code/wrongLastSequence`` otherwise.
    @discardableResult
    public func create(_ key: String, _ value: [UInt8]) async throws -> UInt64 {
        try await BlockingExecutor.run {
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Create(&revision, self.store, key, bytes.baseAddress, Int32(bytes.count))
            }
            try Self.checkWrite(status, "kv create")
            return revision
        }
    }

    /// Sets `key` only if its latest revision is `revision`; throws ``NATSError/Code/wrongLastSequence`` otherwise.
    @discardableResult
    public func update(_ key: String, _ value: [UInt8], expectedRevision revision: UInt64) async throws -> UInt64 {
        try await BlockingExecutor.run {
            var newRevision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Update(&newRevision, self.store, key, bytes.baseAddress, Int32(bytes.count), revision)
            }
            try Self.checkWrite(status, "kv update")
            return newRevision
        }
    }

    /// Deletes `key` (a delete marker is kept in history).
    public func delete(_ key: String) async throws {
        try await BlockingExecutor.run { try CBridge.check(kvStore_Delete(self.store, key), "kv delete") }
    }

    /// Current values first, then every change, of keys matching `keys` (`>` for all).
    ///
    /// Runs a dedicated thread while iterated; ends when the consumer stops iterating.
    public func watch(_ keys: String = ">") async throws -> AsyncThrowingStream<KeyValueEntry, any Error> {
        let watcher: UnsafeSendablePointer = try await BlockingExecutor.run {
            var watcher: OpaquePointer?
            var options = kvWatchOptions()
            try CBridge.check(kvWatchOptions_Init(&options), "kvWatchOptions_Init")
            try CBridge.check(kvStore_Watch(&watcher, self.store, keys, &options), "kv watch")
            guard let watcher else { throw NATSError.invalid("kvStore_Watch returned nothing") }
            return UnsafeSendablePointer(pointer: watcher)
        }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: KeyValueEntry.self, bufferingPolicy: .unbounded)
        let stopped = Atomic<Bool>(false)
        let keepAlive = self
        let thread = Thread {
            withExtendedLifetime(keepAlive) {
                defer { kvWatcher_Destroy(watcher.pointer) }
                while !stopped.load(ordering: .acquiring) {
                    var entry: OpaquePointer?
                    let status = kvWatcher_Next(&entry, watcher.pointer, 250)
                    if status == NATS_TIMEOUT { continue }
                    if status != NATS_OK {
                        if stopped.load(ordering: .acquiring) { break }
                        continuation.finish(throwing: CBridge.error(status, "kv watch"))
                        return
                    }
                    guard let entry else { continue }  // marks the end of the initial values
                    let copied = Self.copy(entry)
                    kvEntry_Destroy(entry)
                    continuation.yield(copied)
                }
                continuation.finish()
            }
        }
        thread.name = "gatehouse.kv.watch"
        continuation.onTermination = { _ in
            stopped.store(true, ordering: .releasing)
            _ = kvWatcher_Stop(watcher.pointer)
        }
        thread.start()
        return stream
    }

    private static func checkWrite(_ status: natsStatus, _ operation: String) throws {
        guard status != NATS_OK else { return }
        let error = CBridge.error(status, operation)
        if error.message.contains("wrong last sequence") || error.message.contains("10071") {
            throw NATSError(code: .wrongLastSequence, message: error.message)
        }
        throw error
    }

    private static func copy(_ entry: OpaquePointer) -> KeyValueEntry {
        let length = Int(kvEntry_ValueLen(entry))
        var value: [UInt8] = []
        if length > 0, let bytes = kvEntry_Value(entry) {
            value = Array(UnsafeRawBufferPointer(start: bytes, count: length))
        }
        let operation: KeyValueEntry.Operation =
            switch kvEntry_Operation(entry) {
            case kvOp_Delete: .delete
            case kvOp_Purge: .purge
            default: .put
            }
        return KeyValueEntry(
            key: String(cString: kvEntry_Key(entry)),
            value: value,
            revision: kvEntry_Revision(entry),
            created: Date(timeIntervalSince1970: Double(kvEntry_Created(entry)) / 1e9),
            operation: operation
        )
    }
}
