import Foundation
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
