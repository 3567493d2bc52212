/// A W3C Trace Context `traceparent` value: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
public struct TraceParent: Hashable, Sendable, CustomStringConvertible {
    public var traceID: String
    public var parentID: String
    public var flags: String

    /// Parses a `traceparent` header; `nil` when it is malformed (an invalid one is ignored, per the spec).
    public init?(_ header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff",
            parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
            parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16)
        else { return nil }
        self.traceID = String(parts[1]).lowercased()
        self.parentID = String(parts[2]).lowercased()
        self.flags = String(parts[3]).lowercased()
    }

    public init(traceID: String, parentID: String, flags: String = "01") {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// A new trace (sampled).
    public static func root() -> TraceParent {
        TraceParent(traceID: Self.randomHex(bytes: 16), parentID: Self.randomHex(bytes: 8))
    }

    /// The same trace with a new span id: what a hop passes on.
    public func child() -> TraceParent {
        TraceParent(traceID: self.traceID, parentID: Self.randomHex(bytes: 8), flags: self.flags)
    }

    public var description: String { "00-\(self.traceID)-\(self.parentID)-\(self.flags)" }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text += String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }
        return text
    }
}
