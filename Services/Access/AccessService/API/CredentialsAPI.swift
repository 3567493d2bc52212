import Crypto
import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import ServiceKit

/// `/v1/tenants/{tenant}/people/{person}/credentials` (cards, plates, mobile keys, face templates,
/// resident PINs) and `/v1/tenants/{tenant}/people/{person}/biometric-consent`. Administrators
/// (`access:configure`) manage anyone's; a person registers and revokes their own phone's mobile
/// keys, reads their own credentials, and gives or withdraws their own consent.
package struct CredentialsAPI: Sendable {
    let commander: DoorCommander
    let credentials: CredentialStore
    let keys: AuthKeys

    package init(commander: DoorCommander, credentials: CredentialStore, keys: AuthKeys) {
        self.commander = commander
        self.credentials = credentials
        self.keys = keys
    }

    static let fields: Set<String> = ["kind", "card", "plate", "publicKey", "templateId", "siteId", "label", "validFrom", "validUntil"]

    /// The tenant, the person (who must exist in it: 404 otherwise), whether the caller administers
    /// access, and who the caller is.
    func caller(_ request: Request, _ context: BasicRequestContext) async throws -> (TenantID, UUID, administrator: Bool, actor: UUID?) {
        let (tenant, person) = try self.keys.authorize(request, context: context, personOr: .accessConfigure)
        let principal = try self.keys.authenticate(request, logger: context.logger)
        do {
            _ = try await self.commander.bus.request(PersonLookup(personId: person), tenant: tenant)
        } catch let error as WireError where error.code == .notFound {
            throw Problem.notFound("no such person")
        }
        return (tenant, person, principal.has(.accessConfigure), UUID(uuidString: principal.claims.sub))
    }

    static func resource(_ credential: PersonCredential, pin: String? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "id": credential.id.lowercasedString, "personId": credential.personId.lowercasedString, "kind": credential.kind.rawValue,
            "validFrom": WireCoding.format(credential.validFrom), "revoked": credential.revokedAt != nil,
            "createdAt": WireCoding.format(credential.createdAt),
        ]
        if let site = credential.siteId { object["siteId"] = site.lowercasedString }
        if let label = credential.label { object["label"] = label }
        if let until = credential.validUntil { object["validUntil"] = WireCoding.format(until) }
        if let used = credential.lastUsedAt { object["lastUsedAt"] = WireCoding.format(used) }
        if let key = credential.publicKey { object["publicKey"] = Data(key).base64EncodedString() }
        if let pin { object["pin"] = pin }
        return object
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        try Response.json(object: object, status: status, headers: [.cacheControl: "no-store"])
    }

    package func register(on router: Router<BasicRequestContext>) {
        let credentials = router.group("/v1/tenants/:tenant/people/:person/credentials")
        credentials.get { request, context in
            let (tenant, person, _, _) = try await self.caller(request, context)
            let list = try await self.credentials.list(tenant: tenant, person: person, logger: context.logger)
            return try Self.json(["credentials": list.map { Self.resource($0) }])
        }
        credentials.post { request, context in
            let (tenant, person, administrator, _) = try await self.caller(request, context)
            let object = try await request.jsonObject(maxBytes: 4096).object
            var fields = JSONFields(object, allowed: Self.fields)
            let kindName = fields.word("kind", of: CredentialKind.allCases.map(\.rawValue), required: true)
            let kind = kindName.flatMap(CredentialKind.init(rawValue:))
            if let kind, !administrator, kind != .mobileKey {
                throw Problem.forbidden("a person registers only their own mobile keys; other credentials are issued by an administrator")
            }
            let label = fields.string("label", maxLength: 100)
            var input = CredentialStore.Input(personId: person, kind: kind ?? .card, label: label)
            let needs: [CredentialKind: String] = [.card: "card", .plate: "plate", .mobileKey: "publicKey", .face: "templateId", .pin: "siteId"]
            for (other, field) in needs where other != kind && object[field] != nil {
                fields.fail(field, "is not used by a \(kindName ?? "credential") credential")
            }
            switch kind {
            case .card:
                if let card = object["card"] as? [String: Any], Set(card.keys) == ["format", "value"], let format = card["format"] as? String,
                    let value = card["value"] as? String, value.utf8.count <= 64
                {
                    switch CredentialValue.card(CardRead(format: format, value: value)) {
                    case .success(let canonical): input.value = canonical
                    case .failure(let error): fields.fail("card", error.message)
                    }
                } else {
                    fields.fail("card", #"is required: {"format": "wiegand26" | "wiegand34" | "uid", "value": …}"#)
                }
            case .plate:
                switch CredentialValue.plate(fields.string("plate", required: true, maxLength: 20) ?? "") {
                case .success(let plate): input.value = plate
                case .failure(let error): fields.fail("plate", error.message)
                }
            case .mobileKey:
                switch CredentialValue.publicKey(fields.string("publicKey", required: true, maxLength: 200) ?? "") {
                case .success(let key): input.publicKey = Array(key.x963Representation)
                case .failure(let error): fields.fail("publicKey", error.message)
                }
            case .face:
                switch CredentialValue.faceTemplate(fields.string("templateId", required: true, maxLength: 64) ?? "") {
                case .success(let template): input.value = template
                case .failure(let error): fields.fail("templateId", error.message)
                }
            case .pin:
                input.siteId = fields.uuid("siteId", required: true)
            case nil:
                break
            }
            let fromText = fields.string("validFrom", maxLength: 40)
            let untilText = fields.string("validUntil", maxLength: 40)
            try fields.check("invalid credential")
            var errors: [Problem.FieldError] = []
            func instant(_ text: String?, _ field: String) -> Date? {
                guard let text else { return nil }
                guard let date = try? Date(text, strategy: .iso8601) else {
                    errors.append(.init(field: field, message: "must be an RFC 3339 time with offset"))
                    return nil
                }
                return date
            }
            input.validFrom = instant(fromText, "validFrom") ?? Date()
            input.validUntil = instant(untilText, "validUntil")
            if let until = input.validUntil, until <= input.validFrom {
                errors.append(.init(field: "validUntil", message: "must be after validFrom"))
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid credential", errors: errors) }
            var pinDigits = 6
            if let site = input.siteId {
                pinDigits = try await self.commander.settings.get(tenant: tenant, site: site, logger: context.logger).pinDigits
            }
            do {
                let (credential, pin) = try await self.credentials.issue(tenant: tenant, input, pinDigits: pinDigits, logger: context.logger)
                var response = try Self.json(Self.resource(credential, pin: pin), status: .created)
                response.headers[.location] = "/v1/tenants/\(tenant)/people/\(person.lowercasedString)/credentials/\(credential.id.lowercasedString)"
                return response
            } catch CredentialStoreError.duplicate {
                throw Problem(slug: "conflict", title: "Conflict", status: .conflict, detail: "another live credential of this tenant has this value")
            } catch CredentialStoreError.tooMany {
                throw Problem(
                    slug: "conflict",
                    title: "Conflict",
                    status: .conflict,
                    detail: "a person holds at most \(PersonCredential.maxPerPerson) live credentials"
                )
            } catch CredentialStoreError.noConsent {
                var problem = Problem(
                    slug: "consent-required",
                    title: "Consent required",
                    status: .conflict,
                    detail: "record the person's consent to face entry first (PUT …/biometric-consent)"
                )
                problem.reason = AccessReason.noConsent.rawValue
                throw problem
            } catch PassStoreError.noFreePIN {
                throw Problem(slug: "conflict", title: "Conflict", status: .conflict, detail: "no free PIN at this site; use longer PINs")
            }
        }
        credentials.get(":credential") { request, context in
            let (tenant, person, _, _) = try await self.caller(request, context)
            guard let id = context.parameters.get("credential").flatMap(UUID.init(uuidString:)),
                let credential = try await self.credentials.get(tenant: tenant, id: id, logger: context.logger), credential.personId == person
            else { throw Problem.notFound("no such credential") }
            return try Self.json(Self.resource(credential))
        }
        credentials.delete(":credential") { request, context in
            let (tenant, person, administrator, _) = try await self.caller(request, context)
            guard let id = context.parameters.get("credential").flatMap(UUID.init(uuidString:)),
                let credential = try await self.credentials.get(tenant: tenant, id: id, logger: context.logger), credential.personId == person
            else { throw Problem.notFound("no such credential") }
            guard administrator || credential.kind == .mobileKey else {
                throw Problem.forbidden("a person revokes only their own mobile keys")
            }
            _ = try await self.credentials.revoke(tenant: tenant, person: person, id: id, logger: context.logger)
            return Response(status: .noContent)
        }

        let consent = router.group("/v1/tenants/:tenant/people/:person/biometric-consent")
        consent.get { request, context in
            let (tenant, person, _, _) = try await self.caller(request, context)
            let recorded = try await self.credentials.consent(tenant: tenant, person: person, logger: context.logger)
            var object: [String: Any] = ["consent": recorded.map { $0.withdrawnAt == nil } ?? false]
            if let recorded {
                object["givenAt"] = WireCoding.format(recorded.givenAt)
                if let withdrawn = recorded.withdrawnAt { object["withdrawnAt"] = WireCoding.format(withdrawn) }
                if let evidence = recorded.evidence { object["evidence"] = evidence }
                if let by = recorded.recordedBy { object["recordedBy"] = by.lowercasedString }
            }
            return try Self.json(object)
        }
        consent.put { request, context in
            let (tenant, person, _, actor) = try await self.caller(request, context)
            var evidence: String?
            if request.headers[.contentType] != nil {
                var fields = JSONFields(try await request.jsonObject(maxBytes: 1024).object, allowed: ["evidence"])
                evidence = fields.string("evidence", maxLength: 200)
                try fields.check("invalid consent")
            }
            try await self.credentials.setConsent(tenant: tenant, person: person, given: true, evidence: evidence, by: actor, logger: context.logger)
            return Response(status: .noContent)
        }
        consent.delete { request, context in
            let (tenant, person, _, actor) = try await self.caller(request, context)
            try await self.credentials.setConsent(tenant: tenant, person: person, given: false, evidence: nil, by: actor, logger: context.logger)
            return Response(status: .noContent)
        }
    }
}
