import Foundation
import GatehouseWire
import HTTPTypes
import Hummingbird
import Logging
import ServiceKit

/// A create under `Idempotency-Key` (``IdempotencyStore``): without the header the resource is made
/// once per request; with it, a retry with the same body gets the first response again, the same
/// key with another body 422, a retry while the first request runs 409.
struct IdempotentCreate<Resource: Codable & Sendable>: Sendable {
    /// Longest `Idempotency-Key` accepted.
    static var maxKeyLength: Int { 255 }

    let store: IdempotencyStore
    /// Names the create in the stored key (`people.create`), so one key serves one kind of request.
    let operation: String

    /// `respond` makes the 201 from the resource; `create` makes it. `kept` is what is stored for a
    /// retry (a secret shown once is taken out of it) and `replay` answers the retry from it
    /// (default: `respond` with the first status).
    func run(
        _ request: Request,
        body: [UInt8],
        scope tenant: TenantID,
        logger: Logger,
        respond: (Resource, HTTPResponse.Status) throws -> Response,
        kept: (Resource) -> Resource = { $0 },
        replay: ((Resource) throws -> Response)? = nil,
        create: () async throws -> Resource
    ) async throws -> Response {
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let key, key.isEmpty || key.utf8.count > Self.maxKeyLength {
            throw Problem.badRequest(
                "invalid header",
                errors: [.init(field: "Idempotency-Key", message: "must be 1…\(Self.maxKeyLength) bytes")]
            )
        }
        guard let key else { return try respond(try await create(), .created) }
        let hash = IdempotencyStore.hash(operation: self.operation, body: body)
        switch try await self.store.begin(tenant: tenant, key: key, operation: self.operation, requestHash: hash, logger: logger) {
        case .replay(let status, let stored):
            let resource = try WireCoding.decode(Resource.self, from: Data(stored))
            if let replay { return try replay(resource) }
            return try respond(resource, HTTPResponse.Status(code: status))
        case .conflict:
            throw Problem(
                slug: "idempotency-key-reused",
                title: "Idempotency key reused",
                status: .unprocessableContent,
                detail: "this Idempotency-Key was used with another request"
            )
        case .inProgress:
            throw Problem(
                slug: "idempotency-in-progress",
                title: "Request in progress",
                status: .conflict,
                detail: "a request with this Idempotency-Key is still being processed; retry shortly"
            )
        case .proceed:
            do {
                let resource = try await create()
                let stored = Array(try WireCoding.encode(kept(resource)))
                try await self.store.complete(tenant: tenant, key: key, status: 201, body: stored, logger: logger)
                return try respond(resource, .created)
            } catch {
                try? await self.store.abandon(tenant: tenant, key: key, logger: logger)
                throw error
            }
        }
    }

    /// ``run(_:body:scope:logger:respond:kept:replay:create:)`` for a create whose answer holds a
    /// secret shown once (a device's SIP password, an API key): the secret is never kept, and a
    /// retry answers 409 `secret-already-shown` with `made` (what the first request made and how to
    /// get a new secret) as its detail (decision 0019).
    func runShowingSecretOnce(
        _ request: Request,
        body: [UInt8],
        scope tenant: TenantID,
        logger: Logger,
        respond: (Resource, HTTPResponse.Status) throws -> Response,
        withoutSecret: (Resource) -> Resource,
        made: @escaping (Resource) -> String,
        create: () async throws -> Resource
    ) async throws -> Response {
        try await self.run(
            request,
            body: body,
            scope: tenant,
            logger: logger,
            respond: respond,
            kept: withoutSecret,
            replay: { resource in
                throw Problem(
                    slug: "secret-already-shown",
                    title: "Secret already shown",
                    status: .conflict,
                    detail: "this Idempotency-Key created \(made(resource))"
                )
            },
            create: create
        )
    }
}
