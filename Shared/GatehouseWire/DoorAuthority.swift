import Foundation

/// Who may open a door on their own authority: one function of the person and the door, so the
/// call path (signaling), the API and the tests decide alike (docs/security.md, "Opening doors").
/// Signaling asks it too, before a resident or staff member may call a door station.
public enum DoorAuthority {
    public static func decide(person: PersonInfo, door: DoorInfo) -> AccessReason {
        guard !person.erased else { return .erased }
        if person.kind == "staff" {
            switch person.staffRole {
            case "tenant-admin":
                return .administrator
            case "property-manager":
                if person.siteIds.contains(door.siteId) { return .staff }
            default:
                if let building = door.buildingId, person.buildingIds.contains(building) { return .staff }
                // A shared door (lobby, garage) serves the buildings of its site.
                if door.buildingId == nil, person.siteIds.contains(door.siteId) { return .staff }
            }
        }
        for residence in person.residences where residence.siteId == door.siteId {
            if door.buildingId == nil || door.buildingId == residence.buildingId { return .resident }
        }
        return .noAuthority
    }
}
