import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IdentityService
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// Every operation of identity's OpenAPI document, called by every role and by another tenant's
/// admin, answers as its `x-gatehouse-scope` says: 401 without a token, 404 for another tenant,
/// 403 for a role without the scope, and neither for a role with it.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_URL"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct IdentityRouteAccessTests {
    let logger = Logger(label: "test")
    let signer = try! TokenSigner(seed: Array(repeating: 45, count: 32))

    struct Operation {
        var method: HTTPRequest.Method
        var path: String
        var id: String
        var scope: String
    }

    /// The document's operations, the erasing ones (DELETE) last so the others meet live objects.
    static func operations() throws -> [Operation] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(IdentityOpenAPI.document.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: [Operation] = []
        for (path, item) in paths {
            for (method, value) in item where method != "parameters" {
                let operation = try #require(value as? [String: Any])
                operations.append(
                    Operation(
                        method: HTTPRequest.Method(method.uppercased())!,
                        path: path,
                        id: try #require(operation["operationId"] as? String),
                        scope: try #require(operation["x-gatehouse-scope"] as? String, "\(method) \(path) has no x-gatehouse-scope")
                    )
                )
            }
        }
        return operations.sorted {
            ($0.method == .delete ? 1 : 0, $0.path, $0.method.rawValue) < ($1.method == .delete ? 1 : 0, $1.path, $1.method.rawValue)
        }
    }

    @Test func everyDocumentedOperationAnswersEveryRoleAsItsScopeSays() async throws {
        let operations = try Self.operations()
        #expect(operations.count >= 43)
        try await withNATSClient(try TestEnvironment.natsURL) { nats in
            try await nats.jetStream.ensureStream(EventStream.configuration())
            try await withTestPostgres { postgres in
                try await MigrationRunner(schema: IdentityService.schema, migrations: IdentityService.migrations).run(
                    on: postgres,
                    logger: self.logger
                )
                let suffix = UUID().uuidString.prefix(8).lowercased()
                let tenant = try await TenantStore(client: postgres).ensure(slug: "routes-\(suffix)", name: "Routes", logger: self.logger).id
                let topology = TopologyStore(client: postgres)
                let site = try await topology.createSite(
                    tenant: tenant,
                    name: "S",
                    timeZone: "UTC",
                    sipDomain: "routes-\(suffix).example.org",
                    logger: self.logger
                )
                let building = try await topology.createBuilding(tenant: tenant, site: UUID(uuidString: site.id)!, name: "B", logger: self.logger)
                let unit = try await topology.createUnit(
                    tenant: tenant,
                    site: UUID(uuidString: site.id)!,
                    building: UUID(uuidString: building.id)!,
                    dialNumber: "1",
                    floor: nil,
                    ringSeconds: 30,
                    logger: self.logger
                )
                let person = try await PeopleStore(client: postgres).create(
                    tenant: tenant,
                    PersonInput(kind: .resident, displayName: "Resident"),
                    logger: self.logger
                ).id
                let (device, _) = try await DeviceStore(client: postgres).create(
                    tenant: tenant,
                    DeviceInput(siteId: UUID(uuidString: site.id)!, kind: .sipPhone, name: "Phone", unitId: UUID(uuidString: unit.id)!),
                    logger: self.logger
                )
                // A device no operation revokes keeps the unit in use, so every caller allowed to
                // delete it meets the same live unit (409) rather than the first one's deletion.
                _ = try await DeviceStore(client: postgres).create(
                    tenant: tenant,
                    DeviceInput(siteId: UUID(uuidString: site.id)!, kind: .indoorMonitor, name: "Monitor", unitId: UUID(uuidString: unit.id)!),
                    logger: self.logger
                )
                // A door its live station keeps in use: every caller allowed to delete it gets 409.
                let door = try await DeviceStore(client: postgres).createDoor(
                    tenant: tenant,
                    site: UUID(uuidString: site.id)!,
                    building: nil,
                    name: "Lobby",
                    kind: .door,
                    logger: self.logger
                )
                _ = try await DeviceStore(client: postgres).create(
                    tenant: tenant,
                    DeviceInput(siteId: UUID(uuidString: site.id)!, kind: .doorStation, name: "Lobby station", doorId: door.id),
                    logger: self.logger
                )
                let (apiKey, _) = try await APIKeyStore(client: postgres).create(
                    tenant: tenant,
                    name: "Routes",
                    domains: ["access"],
                    logger: self.logger
                )
                let job = try await ImportJobStore(client: postgres).create(tenant: tenant, dryRun: true, logger: self.logger)
                let values = [
                    "tenant": tenant.description, "person": person.lowercasedString, "site": site.id, "building": building.id, "unit": unit.id,
                    "device": device.id.lowercasedString, "key": apiKey.id.lowercasedString, "job": job.lowercasedString,
                    "door": door.id.lowercasedString,
                ]

                let bus = MessageBus(transport: NATSTransport(client: nats), source: EventSource(service: .identity, instance: "routes"))
                let keys = AuthKeys(JWKS(keys: [self.signer.publicJWK]))
                let router = Router()
                router.add(middleware: ProblemMiddleware())
                IssuerKeys(signer: self.signer).register(on: router)
                PeopleAPI(client: postgres, keys: keys, bus: bus).register(on: router)
                AuthAPI(client: postgres, signer: self.signer, keys: keys).register(on: router)
                TenantsAPI(client: postgres, keys: keys).register(on: router)
                TopologyAPI(client: postgres, keys: keys).register(on: router)
                DevicesAPI(client: postgres, keys: keys).register(on: router)
                APIKeysAPI(client: postgres, signer: self.signer, keys: keys).register(on: router)
                ImportAPI(client: postgres, runner: ImportJobRunner(client: postgres, logger: self.logger), keys: keys).register(on: router)
                IdentityOpenAPI.register(on: router)

                var callers: [(name: String, role: Role?, token: String?)] = [("no token", nil, nil)]
                for role in Role.allCases {
                    let claims = AccessClaims(subject: "someone", tenant: role == .operatorAdmin ? .operator : tenant, role: role)
                    callers.append((role.rawValue, role, try self.signer.sign(claims)))
                }
                callers.append(
                    ("another tenant's admin", nil, try self.signer.sign(AccessClaims(subject: "x", tenant: TenantID(UUID()), role: .tenantAdmin)))
                )
                let everyone = callers
                let me = try self.signer.sign(AccessClaims(subject: person.lowercasedString, tenant: tenant, role: .resident))

                try await Application(router: router).test(.router) { client in
                    for operation in operations where operation.scope != "public" {
                        var path = operation.path
                        for (name, value) in values { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                        let selfScope = operation.scope.hasPrefix("self-or:")
                        let scope = try #require(
                            Scope(rawValue: selfScope ? String(operation.scope.dropFirst(8)) : operation.scope),
                            "\(operation.id)"
                        )
                        var attempts = everyone
                        if selfScope { attempts.append(("the person themselves", nil, me)) }
                        for caller in attempts {
                            var headers: HTTPFields = [:]
                            if let token = caller.token { headers[.authorization] = "Bearer \(token)" }
                            let hasBody = [.post, .put, .patch].contains(operation.method)
                            if hasBody { headers[.contentType] = "application/json" }
                            let status = try await client.execute(
                                uri: path,
                                method: operation.method,
                                headers: headers,
                                body: hasBody ? ByteBuffer(string: "{}") : nil
                            ) { $0.status }
                            let allowed = caller.name == "the person themselves" || (caller.role?.scopes.contains(scope) ?? false)
                            let label = "\(caller.name) → \(operation.method) \(operation.path) (\(operation.scope)): \(status.code)"
                            // The operator's routes name no tenant: another tenant's admin is just
                            // a role without their scope there.
                            let namesTenant = operation.path.contains("{tenant}")
                            switch caller.name {
                            case "no token": #expect(status == .unauthorized, "\(label)")
                            case "another tenant's admin" where namesTenant: #expect(status == .notFound, "\(label)")
                            case "another tenant's admin": #expect(status == .forbidden, "\(label)")
                            default:
                                if allowed {
                                    #expect(![.unauthorized, .forbidden, .notFound].contains(status), "\(label)")
                                } else {
                                    #expect(status == .forbidden, "\(label)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
