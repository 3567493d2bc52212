import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore
package import PostgresNIO
package import ServiceKit

/// `/v1/tenants/{tenant}/people`: list, create, read, change and erase people (docs/operations.md,
/// "Identity API"; the OpenAPI document at `/openapi.json`).
package struct PeopleAPI: Sendable {
    /// Largest request body.
    package static let maxBodyBytes = 16 * 1024
    package static let maxPageSize = 500

    let store: PeopleStore
    let idempotency: IdempotencyStore
    let keys: AuthKeys
    let bus: MessageBus

    package init(client: PostgresClient, schema: String = IdentityService.schema, keys: AuthKeys, bus: MessageBus) {
        self.store = PeopleStore(client: client, schema: schema)
        self.idempotency = IdempotencyStore(client: client, schema: schema)
        self.keys = keys
        self.bus = bus
    }

    static func etag(_ person: Person) -> String { "\"v\(person.version)\"" }

    static func response(_ status: HTTPResponse.Status, _ person: Person) throws -> Response {
        let headers: HTTPFields = [.eTag: Self.etag(person)]
        return try Response.json(PersonResource(person), status: status, headers: headers)
    }

    package func register(on router: Router<BasicRequestContext>) {
        let people = router.group("/v1/tenants/:tenant/people")
        people.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let query = request.uri.queryParameters
            var errors: [Problem.FieldError] = []
            let paging = Paging(request, defaultLimit: 50, maxLimit: Self.maxPageSize, errors: &errors) { UUID(uuidString: $0) }
            var kind: Person.Kind?
            if let text = query["kind"] {
                kind = Person.Kind(rawValue: String(text))
                if kind == nil { errors.append(.init(field: "kind", message: "must be resident, staff or guest")) }
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
            var page = try await self.store.list(tenant: tenant, kind: kind, after: paging.after, limit: paging.limit + 1, logger: context.logger)
            let next = paging.next(&page) { $0.id.lowercasedString }
            struct Page: Encodable {
                var people: [PersonResource]
                var nextCursor: String?
            }
            return try Response.json(Page(people: page.map(PersonResource.init), nextCursor: next))
        }
        people.post { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let body = try await Self.jsonBody(request)
            let input = try Self.createInput(body.object)
            return try await IdempotentCreate<PersonResource>(store: self.idempotency, operation: "people.create").run(
                request,
                body: body.bytes,
                scope: tenant,
                logger: context.logger,
                respond: { person, status in
                    try Response.json(
                        person,
                        status: status,
                        headers: [.eTag: "\"v\(person.version)\"", .location: "/v1/tenants/\(tenant)/people/\(person.id)"]
                    )
                },
                create: { PersonResource(try await self.create(tenant: tenant, input, logger: context.logger)) }
            )
        }
        people.get(":person") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let person = try await self.find(tenant, context)
            if request.headers[.ifNoneMatch] == Self.etag(person) {
                return Response(status: .notModified, headers: [.eTag: Self.etag(person)])
            }
            return try Self.response(.ok, person)
        }
        people.get(":person/export") { request, context in
            // The person's own data (GDPR art. 15 and 20), for them or whoever may change people.
            let (tenant, _) = try self.keys.authorize(request, context: context, personOr: .identityWrite)
            let person = try await self.find(tenant, context)
            return try Response.json(
                try await PersonExport(tenant: tenant, person: person, store: self.store, logger: context.logger),
                headers: [
                    .contentDisposition: #"attachment; filename="person-\#(person.id.lowercasedString).json""#, .cacheControl: "no-store",
                ]
            )
        }
        people.patch(":person") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let person = try await self.find(tenant, context)
            let version = try Preconditions.expectedVersion(request, of: "person", current: person.version)
            let patch = try Self.patch(try await Self.jsonBody(request).object)
            do {
                let updated = try await self.store.update(
                    tenant: tenant,
                    id: person.id,
                    expectedVersion: version,
                    change: patch,
                    logger: context.logger
                )
                return try Self.response(.ok, updated)
            } catch PeopleStoreError.versionMismatch(let current) {
                throw Preconditions.stale("person", current: current)
            } catch PeopleStoreError.emailTaken {
                throw Self.emailTaken
            } catch PeopleStoreError.erased {
                throw Problem(slug: "erased", title: "Erased", status: .conflict, detail: "this person was erased and cannot be changed")
            } catch PeopleStoreError.unknownPlace(let field) {
                throw Self.unknownPlace(field)
            }
        }
        people.post(":person/guests") { request, context in
            // A resident or staff member invites a guest; an administrator may for any host.
            let (tenant, host) = try self.keys.authorize(request, context: context, personOr: .identityWrite)
            let body = try await Self.jsonBody(request)
            let (input, expiresAt) = try Self.guestInput(body.object, now: Date())
            return try await IdempotentCreate<PersonResource>(store: self.idempotency, operation: "guests.create:\(host.lowercasedString)").run(
                request,
                body: body.bytes,
                scope: tenant,
                logger: context.logger,
                respond: { guest, status in
                    try Response.json(
                        guest,
                        status: status,
                        headers: [.eTag: "\"v\(guest.version)\"", .location: "/v1/tenants/\(tenant)/people/\(guest.id)"]
                    )
                },
                create: {
                    do {
                        return PersonResource(
                            try await self.store.createGuest(tenant: tenant, host: host, input, expiresAt: expiresAt, logger: context.logger)
                        )
                    } catch PeopleStoreError.noSuchHost {
                        throw Problem.notFound("no such resident or staff member")
                    } catch PeopleStoreError.tooManyGuests {
                        throw Problem(
                            slug: "too-many-guests",
                            title: "Too many guests",
                            status: .conflict,
                            detail: "a host has at most \(PeopleStore.maxGuestsPerHost) guests at once; erase one first"
                        )
                    } catch PeopleStoreError.emailTaken {
                        throw Self.emailTaken
                    }
                }
            )
        }
        people.get(":person/guests") { request, context in
            let (tenant, host) = try self.keys.authorize(request, context: context, personOr: .identityRead)
            struct Page: Encodable { var guests: [PersonResource] }
            let guests = try await self.store.guests(tenant: tenant, host: host, logger: context.logger)
            return try Response.json(Page(guests: guests.map(PersonResource.init)))
        }
        people.delete(":person") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityErase)
            let person = try await self.find(tenant, context)
            // The erasure and its event (identity.person_erased) commit together; the outbox relay
            // publishes the event (decision 0008).
            _ = try await self.store.erase(tenant: tenant, id: person.id, logger: context.logger)
            return Response(status: .noContent)
        }
    }

    func find(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> Person {
        guard let id = context.parameters.get("person").flatMap(UUID.init(uuidString:)),
            let person = try await self.store.get(tenant: tenant, id: id, logger: context.logger)
        else { throw Problem.notFound("no such person") }
        return person
    }

    func create(tenant: TenantID, _ input: PersonInput, logger: Logger) async throws -> Person {
        do {
            return try await self.store.create(tenant: tenant, input, logger: logger)
        } catch PeopleStoreError.emailTaken {
            throw Self.emailTaken
        } catch PeopleStoreError.unknownPlace(let field) {
            throw Self.unknownPlace(field)
        }
    }

    static func unknownPlace(_ field: String) -> Problem {
        Problem.badRequest("invalid person", errors: [.init(field: field, message: "names a site or building this tenant does not have")])
    }

    static let emailTaken = Problem(
        slug: "conflict",
        title: "Conflict",
        status: .conflict,
        detail: "another person of this tenant has this e-mail address",
        errors: [.init(field: "email", message: "is already used in this tenant")]
    )

    /// The request body as JSON object, checked for type and size.
    static func jsonBody(_ request: Request) async throws -> (object: [String: Any], bytes: [UInt8]) {
        try await request.jsonObject(maxBytes: Self.maxBodyBytes, contentTypes: ["application/json", "application/merge-patch+json"])
    }

    static func createInput(_ object: [String: Any]) throws -> PersonInput {
        var errors: [Problem.FieldError] = []
        let kind = (object["kind"] as? String).flatMap(Person.Kind.init(rawValue:))
        if kind == nil { errors.append(.init(field: "kind", message: "is required: resident, staff or guest")) }
        let (name, email, phone) = try Self.contactFields(object, &errors)
        let staffRole = try Self.optionalString(object, "staffRole", &errors)
        if let role = staffRole ?? nil {
            if kind != .staff {
                errors.append(.init(field: "staffRole", message: "is for staff only"))
            } else if !PersonInput.staffRoles.contains(role) {
                errors.append(.init(field: "staffRole", message: "must be tenant-admin, property-manager or staff"))
            }
        }
        let sites = Self.places(object, "siteIds", &errors) ?? []
        let buildings = Self.places(object, "buildingIds", &errors) ?? []
        for (field, ids) in [("siteIds", sites), ("buildingIds", buildings)] where kind != .staff && !ids.isEmpty {
            errors.append(.init(field: field, message: "is for staff only"))
        }
        for key in object.keys where !Self.fields.contains(key) {
            errors.append(.init(field: key, message: "is not a field of a person"))
        }
        guard errors.isEmpty, let kind, let name else { throw Problem.badRequest("invalid person", errors: errors) }
        return PersonInput(
            kind: kind,
            displayName: name,
            email: email,
            phone: phone,
            staffRole: staffRole ?? nil,
            siteIds: sites,
            buildingIds: buildings
        )
    }

    static let fields: Set<String> = ["kind", "displayName", "email", "phone", "staffRole", "siteIds", "buildingIds"]

    /// A JSON merge patch (RFC 7396) of a person: absent keys stay, `null` clears e-mail or phone.
    static func patch(_ object: [String: Any]) throws -> @Sendable (inout PersonInput) -> Void {
        var errors: [Problem.FieldError] = []
        var kind: Person.Kind?
        if let value = object["kind"] {
            kind = (value as? String).flatMap(Person.Kind.init(rawValue:))
            if kind == nil { errors.append(.init(field: "kind", message: "must be resident, staff or guest")) }
        }
        var name: String?
        if let value = object["displayName"] {
            name = value as? String
            if name == nil { errors.append(.init(field: "displayName", message: "must be a string")) }
        }
        let email = try Self.optionalString(object, "email", &errors)
        let phone = try Self.optionalString(object, "phone", &errors)
        let staffRole = try Self.optionalString(object, "staffRole", &errors)
        for (field, message) in PersonInput.problems(displayName: name, email: email ?? nil, phone: phone ?? nil) {
            errors.append(.init(field: field, message: message))
        }
        if let role = staffRole ?? nil, !PersonInput.staffRoles.contains(role) {
            errors.append(.init(field: "staffRole", message: "must be tenant-admin, property-manager or staff"))
        }
        let sites = Self.places(object, "siteIds", &errors)
        let buildings = Self.places(object, "buildingIds", &errors)
        for key in object.keys where !Self.fields.contains(key) {
            errors.append(.init(field: key, message: "is not a field of a person"))
        }
        if !errors.isEmpty { throw Problem.badRequest("invalid patch", errors: errors) }
        let trimmed = name?.trimmingCharacters(in: .whitespacesAndNewlines)
        let newKind = kind
        return { input in
            if let newKind { input.kind = newKind }
            if let trimmed { input.displayName = trimmed }
            if let email { input.email = email?.lowercased() }
            if let phone { input.phone = phone }
            if let staffRole { input.staffRole = staffRole }
            if let sites { input.siteIds = sites }
            if let buildings { input.buildingIds = buildings }
        }
    }

    /// A list of site or building ids: `nil` when absent, `[]` for null; at most
    /// ``PersonInput/maxPlaces`` distinct UUIDs.
    static func places(_ object: [String: Any], _ key: String, _ errors: inout [Problem.FieldError]) -> [UUID]? {
        guard let value = object[key] else { return nil }
        if value is NSNull { return [] }
        guard let items = value as? [Any] else {
            errors.append(.init(field: key, message: "must be an array of ids"))
            return nil
        }
        let ids = items.compactMap { ($0 as? String).flatMap(UUID.init(uuidString:)) }
        guard ids.count == items.count, Set(ids).count == ids.count, ids.count <= PersonInput.maxPlaces else {
            errors.append(.init(field: key, message: "must be at most \(PersonInput.maxPlaces) distinct ids"))
            return nil
        }
        return ids
    }

    /// A guest's fields: `displayName`, `email?`, `phone?` and `validUntil?` (RFC 3339; after `now`,
    /// at most ``PeopleStore/maxGuestLifetime`` ahead; default 24 hours).
    static func guestInput(_ object: [String: Any], now: Date) throws -> (PersonInput, expiresAt: Date) {
        var errors: [Problem.FieldError] = []
        let (name, email, phone) = try Self.contactFields(object, &errors)
        var expiresAt = now.addingTimeInterval(24 * 3600)
        if let value = object["validUntil"] {
            if let text = value as? String, let date = WireCoding.parse(text), date > now,
                date <= now.addingTimeInterval(PeopleStore.maxGuestLifetime)
            {
                expiresAt = date
            } else {
                errors.append(.init(field: "validUntil", message: "must be a time (RFC 3339) after now and at most 30 days ahead"))
            }
        }
        for key in object.keys where !["displayName", "email", "phone", "validUntil"].contains(key) {
            errors.append(.init(field: key, message: "is not a field of a guest"))
        }
        guard errors.isEmpty, let name else { throw Problem.badRequest("invalid guest", errors: errors) }
        return (PersonInput(kind: .guest, displayName: name, email: email, phone: phone), expiresAt)
    }

    /// What every person, a guest too, is given by: the display name (required), e-mail and phone,
    /// checked and normalized (name trimmed, e-mail in lower case).
    static func contactFields(
        _ object: [String: Any],
        _ errors: inout [Problem.FieldError]
    ) throws -> (name: String?, email: String?, phone: String?) {
        let name = object["displayName"] as? String
        if name == nil { errors.append(.init(field: "displayName", message: "is required")) }
        let email = try Self.optionalString(object, "email", &errors) ?? nil
        let phone = try Self.optionalString(object, "phone", &errors) ?? nil
        for (field, message) in PersonInput.problems(displayName: name, email: email, phone: phone) {
            errors.append(.init(field: field, message: message))
        }
        return (name?.trimmingCharacters(in: .whitespacesAndNewlines), email?.lowercased(), phone)
    }

    /// `nil`: absent; `.some(nil)`: JSON null; `.some(text)`: a string. Anything else is an error.
    static func optionalString(_ object: [String: Any], _ key: String, _ errors: inout [Problem.FieldError]) throws -> String?? {
        guard let value = object[key] else { return nil }
        if value is NSNull { return .some(nil) }
        guard let text = value as? String else {
            errors.append(.init(field: key, message: "must be a string or null"))
            return nil
        }
        return .some(text)
    }
}
