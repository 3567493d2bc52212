/// A request method: `gatehouse.v1.rpc.<service>.<method>`.
public struct RPCMethod: Hashable, Sendable, CustomStringConvertible {
    public var service: ServiceName
    public var name: String

    public init(service: ServiceName, name: String) {
        precondition(Subjects.isValidToken(service.rawValue) && Subjects.isValidToken(name))
        self.service = service
        self.name = name
    }

    public var subject: String { Subjects.request(self) }
    public var description: String { self.subject }
}

/// A typed request: it knows where it goes and what comes back.
///
/// On the wire the request is its JSON; the reply is an ``RPCReply`` (`{"result": …}` or
/// `{"error": …}`).
public protocol GatehouseRequest: Codable, Sendable, Hashable {
    associatedtype Response: Codable, Sendable, Hashable
    /// The method this request calls. Most types return a constant.
    var method: RPCMethod { get }
}

/// A reply on the wire: exactly one of `result` or `error`.
public enum RPCReply<Response: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    case result(Response)
    case error(WireError)

    enum CodingKeys: String, CodingKey { case result, error }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let error = try container.decodeIfPresent(WireError.self, forKey: .error) {
            self = .error(error)
        } else {
            self = .result(try container.decode(Response.self, forKey: .result))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .result(let response): try container.encode(response, forKey: .result)
        case .error(let error): try container.encode(error, forKey: .error)
        }
    }

    /// The response, or the error thrown.
    public func get() throws(WireError) -> Response {
        switch self {
        case .result(let response): return response
        case .error(let error): throw error
        }
    }
}
