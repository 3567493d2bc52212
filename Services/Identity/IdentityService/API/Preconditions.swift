import HTTPTypes
import Hummingbird
import ServiceKit

/// `If-Match` on identity's updates: every resource carries the `ETag` `"v<version>"`, and a change
/// names the version it was made against.
enum Preconditions {
    /// The version `If-Match` names (`"v<version>"`, the resource's ETag): 428 without it, 412 when
    /// it is not the `current` one.
    static func expectedVersion(_ request: Request, of what: String, current: Int) throws -> Int {
        guard let ifMatch = request.headers[.ifMatch] else {
            throw Problem(
                slug: "precondition-required",
                title: "Precondition required",
                status: .preconditionRequired,
                detail: "send If-Match with the ETag of the \(what) you read"
            )
        }
        guard ifMatch.hasPrefix("\"v"), ifMatch.hasSuffix("\""), let version = Int(ifMatch.dropFirst(2).dropLast()), version == current else {
            throw Self.stale(what, current: current)
        }
        return version
    }

    static func stale(_ what: String, current: Int) -> Problem {
        Problem(
            slug: "precondition-failed",
            title: "Precondition failed",
            status: .preconditionFailed,
            detail: "the \(what) changed since you read it (now \"v\(current)\"); read it again"
        )
    }
}
