public import Foundation

/// Asks a service whether it is alive: `gatehouse.v1.rpc.<service>.ping`.
public struct Ping: GatehouseRequest {
    public typealias Response = PingReply

    /// The service asked.
    public var service: ServiceName

    public init(service: ServiceName) { self.service = service }

    public var method: RPCMethod { RPCMethod(service: self.service, name: "ping") }
}

/// What a service answers to ``Ping``.
public struct PingReply: Codable, Sendable, Hashable {
    public var service: ServiceName
    /// The build's version (`GATEHOUSE_VERSION`, or `dev`).
    public var version: String
    /// This instance's id: the host name plus the process id unless configured.
    public var instance: String
    public var startedAt: Date

    public init(service: ServiceName, version: String, instance: String, startedAt: Date) {
        self.service = service
        self.version = version
        self.instance = instance
        self.startedAt = startedAt
    }
}

/// A service instance finished starting (migrations done, handlers serving). Operator scope.
public struct ServiceStarted: GatehouseEventData {
    public static let eventType = EventType(domain: "system", name: "service_started")

    public var service: ServiceName
    public var version: String
    public var instance: String

    public init(service: ServiceName, version: String, instance: String) {
        self.service = service
        self.version = version
        self.instance = instance
    }
}

/// A service instance is shutting down gracefully. Operator scope.
public struct ServiceStopping: GatehouseEventData {
    public static let eventType = EventType(domain: "system", name: "service_stopping")

    public var service: ServiceName
    public var instance: String
    /// How long it ran, in seconds.
    public var uptimeSeconds: Double

    public init(service: ServiceName, instance: String, uptimeSeconds: Double) {
        self.service = service
        self.instance = instance
        self.uptimeSeconds = uptimeSeconds
    }
}

/// The audit service received an event whose `tenantid` disagrees with the tenant of its subject:
/// someone published into another tenant's space. Kept in quarantine; operator scope.
public struct AuditTenantMismatch: GatehouseEventData {
    public static let eventType = EventType(domain: "audit", name: "tenant_mismatch")

    public var natsSubject: String
    public var claimedTenant: String
    public var streamSequence: UInt64

    public init(natsSubject: String, claimedTenant: String, streamSequence: UInt64) {
        self.natsSubject = natsSubject
        self.claimedTenant = claimedTenant
        self.streamSequence = streamSequence
    }
}

/// Every event type of the contract. The audit service quarantines events of any other type; a new
/// event type is added here with its schema and sample.
public enum EventCatalog {
    public static let all: [EventType] = [
        ServiceStarted.eventType,
        ServiceStopping.eventType,
        AuditTenantMismatch.eventType,
        EventProbe.eventType,
        AuditCheckpointCreated.eventType,
        PersonErased.eventType,
        TenantCreated.eventType,
        TenantUpdated.eventType,
        TenantDeleted.eventType,
        SiteCreated.eventType,
        SiteUpdated.eventType,
        SiteDeleted.eventType,
        BuildingCreated.eventType,
        BuildingUpdated.eventType,
        BuildingDeleted.eventType,
        UnitCreated.eventType,
        UnitUpdated.eventType,
        UnitDeleted.eventType,
        DoorCreated.eventType,
        DoorUpdated.eventType,
        DoorDeleted.eventType,
        DeviceCreated.eventType,
        DeviceUpdated.eventType,
        DeviceRevoked.eventType,
        PersonCreated.eventType,
        PersonUpdated.eventType,
        ImportCompleted.eventType,
        APIKeyCreated.eventType,
        APIKeyRevoked.eventType,
        ResidencyUpdated.eventType,
        ResidencyRemoved.eventType,
        DeviceRegistered.eventType,
        DeviceUnregistered.eventType,
        DeviceExpired.eventType,
        CallStarted.eventType,
        CallRinging.eventType,
        CallAnswered.eventType,
        CallAnsweredExternally.eventType,
        CallFallback.eventType,
        CallEnded.eventType,
        AccessDecisionMade.eventType,
        DoorUnlocked.eventType,
        DoorCommandFailed.eventType,
        PassCreated.eventType,
        PassRevoked.eventType,
        BruteForceSuspected.eventType,
        LockdownChanged.eventType,
        CredentialIssued.eventType,
        CredentialRevoked.eventType,
        ConsentChanged.eventType,
        PolicyChanged.eventType,
    ]

    public static func contains(type: String) -> Bool { self.all.contains { $0.type == type } }
}

/// A probe an operator publishes (`gatehouse events probe`) to check that events flow end to end
/// for a tenant: into the stream, through the audit log, out to integrators.
public struct EventProbe: GatehouseEventData {
    public static let eventType = EventType(domain: "system", name: "probe")

    /// Which probe run it belongs to.
    public var run: String
    /// Its number within the run, from 1.
    public var number: Int

    public init(run: String, number: Int) {
        self.run = run
        self.number = number
    }
}

/// The audit service signed a checkpoint of a tenant's chain (docs/audit.md). Keep these: with the
/// public key they prove later that records `fromSequence…sequence` were not rewritten.
public struct AuditCheckpointCreated: GatehouseEventData {
    public static let eventType = EventType(domain: "audit", name: "checkpoint_created")

    public var fromSequence: Int64
    public var sequence: Int64
    /// Hex SHA-256 of record `sequence`.
    public var headHash: String
    /// Hex Merkle root of the hashes of records `fromSequence…sequence`.
    public var merkleRoot: String
    /// When the checkpoint was made (part of what is signed).
    public var signedAt: Date
    public var keyId: String
    /// Base64 Ed25519 public key and signature.
    public var publicKey: String
    public var signature: String

    public init(
        fromSequence: Int64,
        sequence: Int64,
        headHash: String,
        merkleRoot: String,
        signedAt: Date,
        keyId: String,
        publicKey: String,
        signature: String
    ) {
        self.fromSequence = fromSequence
        self.sequence = sequence
        self.headHash = headHash
        self.merkleRoot = merkleRoot
        self.signedAt = signedAt
        self.keyId = keyId
        self.publicKey = publicKey
        self.signature = signature
    }
}
