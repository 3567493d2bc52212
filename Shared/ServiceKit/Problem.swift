import Foundation
public import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// An RFC 9457 problem, sent as `application/problem+json`.
///
/// `type` is a stable URN (`urn:gatehouse:problem:<slug>`): clients branch on it, never on `title`
/// or `detail`. The list of slugs is in `docs/operations.md`.
public struct Problem: Error, HTTPResponseError, Codable, Sendable {
    public var type: String
    public var title: String
    /// The HTTP status; in the JSON body, its number.
    public var status: HTTPResponse.Status
    public var detail: String?
    public var instance: String?
    /// Field-level validation messages: `[{"field": "unit", "message": "must not be empty"}]`.
    public var errors: [FieldError]?
    /// The fixed-vocabulary reason of an access decision or a door command (`noAuthority`,
    /// `timeout`…), for problems that report one.
    public var reason: String?

    public struct FieldError: Codable, Sendable, Hashable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public init(slug: String, title: String, status: HTTPResponse.Status, detail: String? = nil, errors: [FieldError]? = nil) {
        self.type = "urn:gatehouse:problem:\(slug)"
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
    }

    public static func notFound(_ detail: String? = nil) -> Problem {
        Problem(slug: "not-found", title: "Not found", status: .notFound, detail: detail)
    }

    public static func badRequest(_ detail: String, errors: [FieldError]? = nil) -> Problem {
        Problem(slug: "invalid-request", title: "Invalid request", status: .badRequest, detail: detail, errors: errors)
    }

    public static func unavailable(_ detail: String) -> Problem {
        Problem(slug: "unavailable", title: "Service unavailable", status: .serviceUnavailable, detail: detail)
    }

    public static let internalError = Problem(
        slug: "internal",
        title: "Internal error",
        status: .internalServerError,
        detail: "The error was logged; quote the request id to support."
    )

    enum CodingKeys: String, CodingKey { case type, title, status, detail, instance, errors, reason }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.type = try container.decode(String.self, forKey: .type)
        self.title = try container.decode(String.self, forKey: .title)
        self.status = HTTPResponse.Status(code: try container.decode(Int.self, forKey: .status))
        self.detail = try container.decodeIfPresent(String.self, forKey: .detail)
        self.instance = try container.decodeIfPresent(String.self, forKey: .instance)
        self.errors = try container.decodeIfPresent([FieldError].self, forKey: .errors)
        self.reason = try container.decodeIfPresent(String.self, forKey: .reason)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.title, forKey: .title)
        try container.encode(self.status.code, forKey: .status)
        try container.encodeIfPresent(self.detail, forKey: .detail)
        try container.encodeIfPresent(self.instance, forKey: .instance)
        try container.encodeIfPresent(self.errors, forKey: .errors)
        try container.encodeIfPresent(self.reason, forKey: .reason)
    }

    // MARK: HTTPResponseError

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var problem = self
        problem.instance = problem.instance ?? request.uri.path
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(problem)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if self.status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="gatehouse""# }
        return Response(status: self.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into a problem response: Hummingbird's own (unknown route, bad method, body
/// too large) keep their status with a matching slug; anything else is a logged 500.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    /// The SQLSTATE identity's database raises for anything new in a deleted tenant: a 404, as for a
    /// tenant that never existed.
    public static var tenantDeletedState: String { "GHT01" }

    @concurrent
    public func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch is NIOTooManyBytesError {
            throw Problem(
                slug: "payload-too-large",
                title: "Content too large",
                status: .contentTooLarge,
                detail: "the request body is larger than this endpoint accepts"
            )
        } catch let error as HTTPError {
            let slug: String
            switch error.status {
            case .notFound: slug = "not-found"
            case .methodNotAllowed: slug = "method-not-allowed"
            case .contentTooLarge: slug = "payload-too-large"
            case .unsupportedMediaType: slug = "unsupported-media-type"
            case .badRequest: slug = "invalid-request"
            default: slug = "http-\(error.status.code)"
            }
            throw Problem(slug: slug, title: error.status.reasonPhrase, status: error.status, detail: error.body)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.tenantDeletedState {
            throw Problem.notFound("no such tenant")
        } catch let error as PostgresTransactionError
            where (error.closureError as? PSQLError)?.serverInfo?[.sqlState] == Self.tenantDeletedState
        {
            throw Problem.notFound("no such tenant")
        } catch let error as PSQLError where ["23514", "22001", "22P02"].contains(error.serverInfo?[.sqlState] ?? "") {
            // A value the database's own constraints refuse (a CHECK, a length, a malformed value)
            // that the route's validation let through: the client's input, still a 400. Logged, so
            // the gap in the validation gets closed.
            context.logger.warning(
                "input refused by a database constraint",
                metadata: ["psql.constraint": "\(error.serverInfo?[.constraintName] ?? "-")"]
            )
            throw Problem.badRequest("a value is outside what this field accepts")
        } catch {
            context.logger.error("request failed", metadata: ["error.type": "\(String(reflecting: error))"])
            throw Problem.internalError
        }
    }
}
