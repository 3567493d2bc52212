/// NATS message headers: case-sensitive names, each with one or more values, in insertion order.
public struct NATSHeaders: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    private var storage: [(name: String, values: [String])] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    /// The first value for `name`; setting replaces every value, `nil` removes the header.
    public subscript(name: String) -> String? {
        get { self.storage.first { $0.name == name }?.values.first }
        set {
            if let index = self.storage.firstIndex(where: { $0.name == name }) {
                if let newValue { self.storage[index].values = [newValue] } else { self.storage.remove(at: index) }
            } else if let newValue {
                self.storage.append((name, [newValue]))
            }
        }
    }

    /// Every value for `name`, in order.
    public func values(for name: String) -> [String] {
        self.storage.first { $0.name == name }?.values ?? []
    }

    /// Appends a value for `name`, keeping existing ones.
    public mutating func add(_ value: String, for name: String) {
        if let index = self.storage.firstIndex(where: { $0.name == name }) {
            self.storage[index].values.append(value)
        } else {
            self.storage.append((name, [value]))
        }
    }

    public var isEmpty: Bool { self.storage.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        self.storage.lazy.flatMap { entry in entry.values.lazy.map { (name: entry.name, value: $0) } }.makeIterator()
    }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.storage.count == rhs.storage.count
            && zip(lhs.storage, rhs.storage).allSatisfy { $0.name == $1.name && $0.values == $1.values }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in self.storage {
            hasher.combine(entry.name)
            hasher.combine(entry.values)
        }
    }
}

/// A message received from NATS, copied out of the C library's buffer.
public struct NATSMessage: Sendable, Hashable {
    public var subject: String
    public var replyTo: String?
    public var headers: NATSHeaders
    public var payload: [UInt8]

    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders = NATSHeaders(), payload: [UInt8]) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// The NATS status code carried in the header line (`NATS/1.0 503`), if any.
    public var status: Int? { self.headers[NATSHeaders.statusName].flatMap { Int($0) } }
}

extension NATSHeaders {
    /// The pseudo-header holding the status of a status-only message (e.g. `503` for no responders).
    public static let statusName = "Status"
    /// JetStream's de-duplication header.
    public static let messageID = "Nats-Msg-Id"
}
