import AccessService
import ArgumentParser
import AuditService
import Foundation
import GatehouseWire
import IdentityService
import Logging
import PostgresNIO
import ServiceKit

/// `gatehouse demo seed`: the demo tenant `make up` creates, idempotently.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Demo data for a local stack.",
        subcommands: [Seed.self]
    )

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or refresh) the demo tenant, its site, building, units 101–110 and residents; write a summary JSON."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Where to write the summary.") var out = ".gatehouse/demo.json"
        @Option(
            help: """
                Base URL of a door simulator (gatehouse-doorsim) that the demo's door stations are driven through; with                 GATEHOUSE_ACCESS_SECRET_KEY and GATEHOUSE_DOORSIM_PASSWORD set, their access controllers are configured too.
                """
        )
        var doorSimURL: String?

        static let slug = "demo"
        static let siteName = "Demo Residences"
        static let sipDomain = "demo.gatehouse.test"
        static let timeZone = "Europe/Berlin"
        /// The demo tenant keeps audit records for 60 days (the service default is 90).
        static let auditRetentionDays = 60

        /// The demo's units and residents as provisioning CSV (the same path an operator uses).
        static var csv: String {
            var lines = [ImportPlan.columns.joined(separator: ",")]
            let names = [
                "Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov",
                "Donald Knuth", "Frances Allen", "John Backus", "Margaret Hamilton", "Ken Thompson",
            ]
            for (index, name) in names.enumerated() {
                let unit = 101 + index
                let email = name.lowercased().replacingOccurrences(of: " ", with: ".") + "@demo.gatehouse.test"
                lines.append("\(siteName),Main,\(unit),\(unit / 100),\(name),\(email),+49 30 5550\(unit),owner")
            }
            return lines.joined(separator: "\n") + "\n"
        }

        static let adminEmail = "admin@demo.gatehouse.test"

        /// The demo's tenant admin, with a password made once and kept in `.gatehouse/secrets/demo-admin.password`
        /// (this is a local demo: the password is also written to the summary, for the tour).
        static func ensureAdmin(tenant: TenantID, client: PostgresClient, logger: Logger) async throws -> DemoSummary.Login {
            let file = ".gatehouse/secrets/demo-admin.password"
            var password = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if password.count < PasswordHasher.minimumLength {
                var generator = SystemRandomNumberGenerator()
                let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                password = String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
                try FileManager.default.createDirectory(atPath: ".gatehouse/secrets", withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: file, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
            }
            let logins = AuthStore(client: client)
            let existing = try await logins.account(tenantSlug: Self.slug, email: Self.adminEmail, logger: logger)?.person
            let id: UUID
            if let existing {
                id = existing
            } else {
                id = try await PeopleStore(client: client).create(
                    tenant: tenant,
                    PersonInput(kind: .staff, displayName: "Demo Admin", email: Self.adminEmail, staffRole: "tenant-admin"),
                    logger: logger
                ).id
            }
            _ = try await logins.setPassword(tenant: tenant, person: id, hash: try await PasswordHasher().hash(password), logger: logger)
            return DemoSummary.Login(personId: id.lowercasedString, tenant: Self.slug, email: Self.adminEmail, password: password)
        }

        static let conciergeEmail = "concierge@demo.gatehouse.test"

        /// SIP passwords of the demo's devices, made once and kept in `.gatehouse/secrets/demo-sip.json`
        /// so seeding again gives every device the same password.
        static func sipPasswords(for usernames: [String]) throws -> [String: String] {
            let file = ".gatehouse/secrets/demo-sip.json"
            var passwords = (try? JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: file)))) ?? [:]
            var changed = false
            for username in usernames where (passwords[username]?.count ?? 0) < 16 {
                passwords[username] = DeviceStore.generatePassword()
                changed = true
            }
            if changed {
                try FileManager.default.createDirectory(atPath: ".gatehouse/secrets", withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                _ = FileManager.default.createFile(atPath: file, contents: try encoder.encode(passwords), attributes: [.posixPermissions: 0o600])
            }
            return passwords
        }

        /// The lobby door station, the garage gate, one SIP phone per resident, the concierge (a staff
        /// member with a phone) and the site's fallback to the concierge.
        static func ensureDevices(tenant: TenantID, site: Site, doorSimURL: String?, client: PostgresClient, logger: Logger) async throws -> (
            [DemoSummary.Door], [DemoSummary.SIPAccount], concierge: String, offline: DemoSummary.OfflineDoor?
        ) {
            var offline: DemoSummary.OfflineDoor?
            var building: UUID?
            for try await id in try await client.query(
                "SELECT id FROM identity.buildings WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site.id) AND name = 'Main'",
                logger: logger
            ).decode(UUID.self) {
                building = id
            }
            guard let building else { throw ValidationError("the demo building is missing after the import") }
            var residents: [(dial: String, unit: UUID, person: UUID)] = []
            for try await (dial, unit, person) in try await client.query(
                """
                SELECT u.dial_number, u.id, r.person_id FROM identity.units u
                JOIN identity.unit_residents r ON r.tenant_id = u.tenant_id AND r.unit_id = u.id
                WHERE u.tenant_id = \(tenant.rawValue) AND u.site_id = \(site.id) ORDER BY u.dial_number
                """,
                logger: logger
            ).decode((String, UUID, UUID).self) {
                residents.append((dial, unit, person))
            }
            let devices = DeviceStore(client: client)
            let lobby = try await devices.createDoor(tenant: tenant, site: site.id, building: building, name: "Lobby", kind: .door, logger: logger)
            let garage = try await devices.createDoor(tenant: tenant, site: site.id, building: nil, name: "Garage", kind: .gate, logger: logger)

            let logins = AuthStore(client: client)
            var concierge = try await logins.account(tenantSlug: Self.slug, email: Self.conciergeEmail, logger: logger)?.person
            if concierge == nil {
                concierge = try await PeopleStore(client: client).create(
                    tenant: tenant,
                    PersonInput(
                        kind: .staff,
                        displayName: "Demo Concierge",
                        email: Self.conciergeEmail,
                        staffRole: "staff",
                        buildingIds: [building]
                    ),
                    logger: logger
                ).id
            }
            guard let concierge else { throw ValidationError("the demo concierge could not be created") }
            // A concierge seeded before staff had places gets the building now.
            let people = PeopleStore(client: client)
            if let seeded = try await people.get(tenant: tenant, id: concierge, logger: logger), seeded.buildingIds.isEmpty {
                _ = try await people.update(
                    tenant: tenant,
                    id: concierge,
                    expectedVersion: seeded.version,
                    change: { $0.buildingIds = [building] },
                    logger: logger
                )
            }

            var inputs: [(DeviceInput, unit: String?)] = [
                (
                    DeviceInput(
                        siteId: site.id,
                        kind: .doorStation,
                        name: "Lobby door station",
                        vendor: "2n",
                        model: "IP Verso 2.0",
                        doorId: lobby.id,
                        sipUsername: "lobby",
                        controlURL: doorSimURL
                    ), nil
                ),
                (
                    DeviceInput(
                        siteId: site.id,
                        kind: .doorStation,
                        name: "Garage gate station",
                        vendor: "akuvox",
                        model: "E12",
                        doorId: garage.id,
                        sipUsername: "garage",
                        controlURL: doorSimURL
                    ), nil
                ),
                (DeviceInput(siteId: site.id, kind: .sipPhone, name: "Concierge desk", personId: concierge, sipUsername: "concierge"), nil),
            ]
            for resident in residents {
                inputs.append(
                    (
                        DeviceInput(
                            siteId: site.id,
                            kind: .sipPhone,
                            name: "Phone \(resident.dial)",
                            unitId: resident.unit,
                            personId: resident.person,
                            sipUsername: "phone-\(resident.dial)"
                        ), resident.dial
                    )
                )
            }
            let passwords = try Self.sipPasswords(for: inputs.compactMap(\.0.sipUsername))
            var accounts: [DemoSummary.SIPAccount] = []
            for (input, unit) in inputs {
                let username = input.sipUsername ?? ""
                let password = passwords[username] ?? ""
                let device = try await devices.provision(tenant: tenant, input, password: password, logger: logger)
                accounts.append(
                    DemoSummary.SIPAccount(
                        deviceId: device.id.lowercasedString,
                        kind: device.kind.rawValue,
                        name: device.name,
                        unit: unit,
                        username: username,
                        realm: device.sipRealm,
                        password: password
                    )
                )
            }
            try await devices.setFallbacks(
                tenant: tenant,
                site: site.id,
                building: nil,
                [DeviceStore.Fallback(position: 1, staff: concierge, ringSeconds: 20)],
                logger: logger
            )
            // The stations' HTTP API credentials, sealed in access control (the simulator's admin account).
            let environment = ProcessInfo.processInfo.environment
            if doorSimURL != nil, let key = environment["GATEHOUSE_ACCESS_SECRET_KEY"].flatMap({ Data(base64Encoded: $0) }), key.count == 32,
                let password = environment["GATEHOUSE_DOORSIM_PASSWORD"], !password.isEmpty
            {
                // The seed may run before access control first started: its schema is ours to make then.
                try await MigrationRunner(schema: AccessService.schema, migrations: AccessService.migrations).run(on: client, logger: logger)
                let controllers = DoorControllerStore(client: client, secretKey: Array(key))
                for door in [lobby, garage] {
                    _ = try await controllers.put(
                        tenant: tenant,
                        DoorController(doorId: door.id, relay: 1, username: "admin", secret: password),
                        keepSecret: false,
                        logger: logger
                    )
                }
                // The Lobby station follows its offline bundle (docs/security.md, "Offline doors"):
                // its device token for the simulator, kept across seeds so a running simulator (and
                // the offline decisions it has yet to report) carries on.
                let tokenFile = ".gatehouse/secrets/doorsim-lobby.token"
                let existing = (try? String(contentsOfFile: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                let token = try await DoorDeviceTokens(client: client).issue(tenant: tenant, door: lobby.id, keeping: existing, logger: logger)
                try FileManager.default.createDirectory(atPath: ".gatehouse/secrets", withIntermediateDirectories: true)
                _ = FileManager.default.createFile(
                    atPath: tokenFile,
                    contents: Data(token.utf8),
                    attributes: [.posixPermissions: 0o600]
                )
                offline = DemoSummary.OfflineDoor(doorId: lobby.id.lowercasedString, signingKey: PassKeys(secretKey: Array(key)).verifyingBase64)
            }
            let doors = [lobby, garage].map {
                DemoSummary.Door(id: $0.id.lowercasedString, name: $0.name, kind: $0.kind.rawValue)
            }
            return (doors, accounts, concierge.lowercasedString, offline)
        }

        /// The demo integrator's API key, made once and kept in `.gatehouse/secrets/demo-integrator.key`.
        static func ensureIntegrator(tenant: TenantID, client: PostgresClient, logger: Logger) async throws -> DemoSummary.Integrator {
            let file = ".gatehouse/secrets/demo-integrator.key"
            var secret = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if !secret.hasPrefix(APIKeyStore.prefix) {
                secret = APIKeyStore.generateSecret()
                try FileManager.default.createDirectory(atPath: ".gatehouse/secrets", withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: file, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
            }
            let domains = ["access", "signaling"]
            let (key, _) = try await APIKeyStore(client: client).create(
                tenant: tenant,
                name: "Demo integrator",
                domains: domains,
                secret: secret,
                logger: logger
            )
            return DemoSummary.Integrator(id: key.id.lowercasedString, name: key.name, domains: domains, apiKey: secret)
        }

        func run() async throws {
            let out = self.out
            let summary = try await self.database.withClient { client, logger in
                let tenant = try await TenantStore(client: client).ensure(
                    slug: Self.slug,
                    name: "Demo Properties",
                    defaultTimeZone: Self.timeZone,
                    logger: logger
                )
                let site = try await SiteStore(client: client).ensure(
                    tenant: tenant.id,
                    name: Self.siteName,
                    timeZone: Self.timeZone,
                    sipDomain: Self.sipDomain,
                    logger: logger
                )
                let plan = ImportPlan(records: try CSVReader().parse(Array(Self.csv.utf8)))
                let result = try await ImportStore(client: client).apply(plan, tenantSlug: tenant.slug, dryRun: false, logger: logger)
                let admin = try await Self.ensureAdmin(tenant: tenant.id, client: client, logger: logger)
                let (doors, sip, concierge, offline) = try await Self.ensureDevices(
                    tenant: tenant.id,
                    site: site,
                    doorSimURL: self.doorSimURL,
                    client: client,
                    logger: logger
                )
                let integrator = try await Self.ensureIntegrator(tenant: tenant.id, client: client, logger: logger)
                try await MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations).run(on: client, logger: logger)
                try await client.query(
                    """
                    INSERT INTO audit.retention (tenant_id, days) VALUES (\(tenant.id.rawValue), \(Self.auditRetentionDays))
                    ON CONFLICT (tenant_id) DO UPDATE SET days = excluded.days, updated_at = now()
                    """,
                    logger: logger
                )
                return DemoSummary(
                    tenant: .init(id: tenant.id, slug: tenant.slug, name: tenant.name),
                    site: .init(id: site.id.uuidString.lowercased(), name: site.name, timeZone: site.timeZone, sipDomain: site.sipDomain),
                    units: (101...110).map(String.init),
                    created: result.units.created + result.people.created,
                    auditRetentionDays: Self.auditRetentionDays,
                    admin: admin,
                    concierge: concierge,
                    doors: doors,
                    sip: sip,
                    integrator: integrator,
                    offlineDoor: offline
                )
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let data = try encoder.encode(summary)
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: out).deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try data.write(to: URL(fileURLWithPath: out))
            print("demo tenant \(summary.tenant.slug) (\(summary.tenant.id)): site \(summary.site.sipDomain), units 101–110 → \(out)")
        }
    }
}

/// What `.gatehouse/demo.json` holds: the tenant, its site, the admin login, doors and every SIP
/// credential the seed made (a local demo: passwords are written here on purpose, for the tour and
/// the tests).
struct DemoSummary: Codable, Sendable {
    struct Tenant: Codable, Sendable {
        var id: TenantID
        var slug: String
        var name: String
    }

    struct Site: Codable, Sendable {
        var id: String
        var name: String
        var timeZone: String
        var sipDomain: String
    }

    var tenant: Tenant
    var site: Site
    var units: [String]
    var created: Int
    /// Days the demo tenant's audit records are kept.
    var auditRetentionDays: Int
    /// The demo tenant admin's login (`POST /v1/auth/login` on identity).
    var admin: Login

    /// The concierge's person id (staff; the site's fallback when a unit does not answer).
    var concierge: String
    var doors: [Door]
    /// Every SIP account the seed made: door stations, the concierge's phone, one phone per unit.
    var sip: [SIPAccount]

    /// The demo integrator's API key (`POST /v1/auth/token` trades it for an access token).
    var integrator: Integrator
    /// The door whose station (the simulator) follows its offline bundle; its device token is in
    /// `.gatehouse/secrets/doorsim-lobby.token`.
    var offlineDoor: OfflineDoor?

    struct OfflineDoor: Codable, Sendable {
        var doorId: String
        /// Access's signing key, for the station to pin.
        var signingKey: String
    }

    struct Integrator: Codable, Sendable {
        var id: String
        var name: String
        var domains: [String]
        var apiKey: String
    }

    struct Door: Codable, Sendable {
        var id: String
        var name: String
        var kind: String
    }

    struct SIPAccount: Codable, Sendable {
        var deviceId: String
        var kind: String
        var name: String
        var unit: String?
        var username: String
        var realm: String
        var password: String
    }

    struct Login: Codable, Sendable {
        var personId: String
        var tenant: String
        var email: String
        var password: String
    }
}
