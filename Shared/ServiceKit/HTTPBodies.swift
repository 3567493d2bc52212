public import Foundation
import GatehouseWire
public import HTTPTypes
public import Hummingbird
import NIOCore

extension StringProtocol {
    /// Whether the text holds a control character (Unicode category Cc, NUL among them), which no
    /// name, address or vocabulary word has and PostgreSQL's `text` cannot store (NUL).
    public var containsControlCharacters: Bool {
        self.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

extension Request {
    /// The body as a JSON object, with its bytes: a 415 problem for another content type, 413
    /// beyond `maxBytes` (through ``ProblemMiddleware``), 400 for anything but a JSON object.
    public func jsonObject(
        maxBytes: Int,
        contentTypes: Set<String> = ["application/json"]
    ) async throws -> (object: [String: Any], bytes: [UInt8]) {
        let type = self.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard let type, contentTypes.contains(type) else {
            throw Problem(
                slug: "unsupported-media-type",
                title: "Unsupported media type",
                status: .unsupportedMediaType,
                detail: "send \(contentTypes.sorted().joined(separator: " or "))"
            )
        }
        var request = self
        let bytes = Array(buffer: try await request.collectBody(upTo: maxBytes))
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw Problem.badRequest("the body is not a JSON object")
        }
        return (object, bytes)
    }
}

extension Response {
    /// A JSON object or array built by hand (`[String: Any]`), keys sorted.
    public static func json(object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(body))))
    }

    /// `value` as a JSON response in the wire's encoding (sorted keys, ISO 8601 times).
    public static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:],
        contentType: String = "application/json"
    ) throws -> Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try WireCoding.encode(value))))
    }
}

/// Reads the fields of a JSON object body, collecting one message per bad field so a client sees
/// every problem at once (``check(_:)`` throws them as a 400 problem).
public struct JSONFields {
    public let object: [String: Any]
    public private(set) var errors: [Problem.FieldError] = []

    /// `allowed`: the fields the object may have; any other is an error.
    public init(_ object: [String: Any], allowed: Set<String>) {
        self.object = object
        for key in object.keys.sorted() where !allowed.contains(key) {
            self.errors.append(.init(field: key, message: "is not a known field"))
        }
    }

    public mutating func fail(_ field: String, _ message: String) {
        self.errors.append(.init(field: field, message: message))
    }

    /// A string of 1…`maxLength` characters without control characters, trimmed of surrounding
    /// white space; `nil` when absent or null (an error when `required`) or bad.
    public mutating func string(_ field: String, required: Bool = false, maxLength: Int = 200) -> String? {
        guard let value = self.object[field], !(value is NSNull) else {
            if required { self.fail(field, "is required") }
            return nil
        }
        guard let text = value as? String else {
            self.fail(field, "must be a string")
            return nil
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Counted in Unicode scalars, as PostgreSQL's length() counts: a few graphemes with many
        // combining marks are many characters.
        if trimmed.isEmpty || trimmed.unicodeScalars.count > maxLength || trimmed.containsControlCharacters {
            self.fail(field, "must be 1 to \(maxLength) characters (Unicode scalars) without control characters")
            return nil
        }
        return trimmed
    }

    /// A UUID string.
    public mutating func uuid(_ field: String, required: Bool = false) -> UUID? {
        guard let value = self.object[field], !(value is NSNull) else {
            if required { self.fail(field, "is required") }
            return nil
        }
        guard let text = value as? String, let id = UUID(uuidString: text) else {
            self.fail(field, "must be a UUID")
            return nil
        }
        return id
    }

    /// An integer within `range`.
    public mutating func int(_ field: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = self.object[field], !(value is NSNull) else {
            if required { self.fail(field, "is required") }
            return nil
        }
        // JSONSerialization gives NSNumber for numbers and booleans alike (a boolean's type code is
        // "c"): refuse booleans and fractions.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
            let integer = Int(exactly: number.doubleValue), range.contains(integer)
        else {
            self.fail(field, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return integer
    }

    /// `true` or `false` (not 0 or 1: a boolean's NSNumber type code is "c").
    public mutating func bool(_ field: String) -> Bool? {
        guard let value = self.object[field], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            self.fail(field, "must be true or false")
            return nil
        }
        return number.boolValue
    }

    /// A string from a fixed vocabulary.
    public mutating func word(_ field: String, of vocabulary: [String], required: Bool = false) -> String? {
        guard let value = self.object[field], !(value is NSNull) else {
            if required { self.fail(field, "is required: one of \(vocabulary.joined(separator: ", "))") }
            return nil
        }
        guard let text = value as? String, vocabulary.contains(text) else {
            self.fail(field, "must be one of \(vocabulary.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// Throws the collected errors as one 400 problem.
    public func check(_ detail: String) throws {
        if !self.errors.isEmpty { throw Problem.badRequest(detail, errors: self.errors) }
    }
}
