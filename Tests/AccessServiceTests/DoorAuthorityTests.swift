import AccessService
import Foundation
import GatehouseWire
import Testing

/// Who may open which door on their own authority.
struct DoorAuthorityTests {
    static let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
    static let site = UUID()
    static let otherSite = UUID()
    static let buildingA = UUID()
    static let buildingB = UUID()

    static func door(building: UUID?, site: UUID = site) -> DoorInfo {
        DoorInfo(
            id: UUID(),
            tenantId: tenant,
            siteId: site,
            buildingId: building,
            name: "Door",
            kind: "door",
            timeZone: "Europe/Berlin",
            stations: []
        )
    }

    static func resident(in building: UUID, site: UUID = site, erased: Bool = false) -> PersonInfo {
        var person = PersonInfo(id: UUID(), tenantId: tenant, kind: "resident", staffRole: nil, siteIds: [], buildingIds: [], erased: erased)
        person.residences = [.init(unitId: UUID(), siteId: site, buildingId: building, role: "owner")]
        return person
    }

    static func staff(_ role: String, sites: [UUID] = [], buildings: [UUID] = []) -> PersonInfo {
        PersonInfo(id: UUID(), tenantId: tenant, kind: "staff", staffRole: role, siteIds: sites, buildingIds: buildings, erased: false)
    }

    @Test func residentsOpenTheDoorsOfTheirBuildingAndTheSitesSharedDoors() {
        let ada = Self.resident(in: Self.buildingA)
        #expect(DoorAuthority.decide(person: ada, door: Self.door(building: Self.buildingA)) == .resident)
        #expect(DoorAuthority.decide(person: ada, door: Self.door(building: nil)) == .resident)
        #expect(DoorAuthority.decide(person: ada, door: Self.door(building: Self.buildingB)) == .noAuthority)
        #expect(DoorAuthority.decide(person: ada, door: Self.door(building: nil, site: Self.otherSite)) == .noAuthority)
    }

    @Test func staffOpenTheDoorsOfTheirPlaces() {
        let concierge = Self.staff("staff", buildings: [Self.buildingA])
        #expect(DoorAuthority.decide(person: concierge, door: Self.door(building: Self.buildingA)) == .staff)
        #expect(DoorAuthority.decide(person: concierge, door: Self.door(building: Self.buildingB)) == .noAuthority)
        let manager = Self.staff("property-manager", sites: [Self.site])
        #expect(DoorAuthority.decide(person: manager, door: Self.door(building: Self.buildingB)) == .staff)
        #expect(DoorAuthority.decide(person: manager, door: Self.door(building: nil, site: Self.otherSite)) == .noAuthority)
        #expect(DoorAuthority.decide(person: Self.staff("tenant-admin"), door: Self.door(building: Self.buildingB)) == .administrator)
    }

    @Test func erasedPeopleOpenNothingAndGuestsWithoutAPassNothing() {
        #expect(DoorAuthority.decide(person: Self.resident(in: Self.buildingA, erased: true), door: Self.door(building: Self.buildingA)) == .erased)
        let guest = PersonInfo(id: UUID(), tenantId: Self.tenant, kind: "guest", staffRole: nil, siteIds: [], buildingIds: [], erased: false)
        #expect(DoorAuthority.decide(person: guest, door: Self.door(building: Self.buildingA)) == .noAuthority)
    }

    @Test func onlyGrantingReasonsGrant() {
        #expect(AccessReason.allCases.filter(\.grants) == [.resident, .pass, .staff, .administrator, .group, .freeAccess])
    }

    @Test func adaptersFollowTheStationsVendor() {
        #expect(DoorAdapterKind(vendor: "2n") == .twoN)
        #expect(DoorAdapterKind(vendor: "akuvox") == .akuvox)
        #expect(DoorAdapterKind(vendor: "doorbird") == .doorbird)
        #expect(DoorAdapterKind(vendor: "generic") == .webhook)
        #expect(DoorAdapterKind(vendor: "aiphone") == nil)
    }
}
