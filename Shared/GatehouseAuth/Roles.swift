/// Who a principal is, as far as authorization goes. The mapping to scopes (``scopes``) is the one
/// table of record; `docs/security.md` shows it.
public enum Role: String, Codable, Sendable, Hashable, CaseIterable {
    /// The SaaS operator running the deployment: every tenant.
    case operatorAdmin = "operator-admin"
    /// A customer's administrator: everything of one tenant.
    case tenantAdmin = "tenant-admin"
    /// Manages some sites of a tenant (the token's `sites`).
    case propertyManager = "property-manager"
    /// Concierge, security, maintenance: some buildings (the token's `buildings`).
    case staff = "staff"
    case resident = "resident"
    case guest = "guest"
    /// A tenant's integration (API key): consumes events on NATS, reads nothing here.
    case integrator = "integrator"

    /// What the role may do. A route names the scope it needs.
    public var scopes: Set<Scope> {
        switch self {
        case .operatorAdmin: Set(Scope.allCases)
        case .tenantAdmin:
            [
                .auditRead, .auditExport, .auditVerify, .auditConfigure, .identityRead, .identityWrite, .identityErase, .accessConfigure,
                .accessUnlock, .accessPasses,
            ]
        case .propertyManager: [.auditRead, .auditExport, .identityRead, .accessUnlock, .accessPasses]
        case .staff: [.auditRead, .identityRead, .accessUnlock, .accessPasses]
        case .resident: [.accessUnlock, .accessPasses]
        case .guest, .integrator: []
        }
    }

    /// Whether the role's reach is limited to the token's sites or buildings within its tenant.
    public var isScopedToPlaces: Bool { self == .propertyManager || self == .staff }
}

/// One permission. Names are `<area>:<verb>`.
public enum Scope: String, Codable, Sendable, Hashable, CaseIterable {
    /// Query audit records (within the principal's places).
    case auditRead = "audit:read"
    /// Export audit records.
    case auditExport = "audit:export"
    /// Verify a tenant's chain.
    case auditVerify = "audit:verify"
    /// Change a tenant's audit settings (retention).
    case auditConfigure = "audit:configure"
    /// Read people, units, devices of the tenant.
    case identityRead = "identity:read"
    /// Create and change them.
    case identityWrite = "identity:write"
    /// Erase a person's personal data.
    case identityErase = "identity:erase"
    /// Configure how doors are driven (door stations' HTTP API credentials).
    case accessConfigure = "access:configure"
    /// Ask to open a door: granted only on the person's own authority over it (their building, the
    /// places of their staff role); administrators open any door of the tenant.
    case accessUnlock = "access:unlock"
    /// Create, read and revoke visitor passes: as their host (doors the host may open), or any as
    /// an administrator.
    case accessPasses = "access:passes"
    /// List, create and delete tenants: the operator's alone (a tenant's own administrator reads and
    /// renames it with `identity:read` and `identity:write`).
    case tenantsManage = "tenants:manage"
}
