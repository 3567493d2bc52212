import AccessService
import AuditService
import GatehouseWire
import IdentityService
import InferenceService
import MediaRelayService
import ServiceKit
import SignalingService
import Testing

@Suite struct DefinitionTests {
    static let definitions = [
        SignalingService.definition, MediaRelayService.definition, IdentityService.definition,
        AccessService.definition, InferenceService.definition, AuditService.definition,
    ]

    @Test func everyServiceHasItsOwnSchemaAndName() {
        #expect(Set(Self.definitions.map(\.schema)).count == 6)
        #expect(Set(Self.definitions.map(\.name)) == Set(ServiceName.all))
    }

    @Test func everyServiceHasItsDocumentedAdminPort() {
        let ports = Self.definitions.map { ServiceConfiguration.defaultPort(of: $0.name) }
        #expect(Set(ports) == [8081, 8082, 8083, 8084, 8085, 8086])
    }

    @Test func migrationLockKeysDiffer() {
        #expect(Set(Self.definitions.map(\.migrationRunner.lockKey)).count == 6)
    }
}
