// swift-tools-version:6.2
import PackageDescription

/// The six services: (library module, folder under Services/, executable name).
let services: [(module: String, folder: String, executable: String)] = [
    ("SignalingService", "Signaling", "signaling"),
    ("MediaRelayService", "MediaRelay", "media-relay"),
    ("IdentityService", "Identity", "identity"),
    ("AccessService", "Access", "access"),
    ("InferenceService", "Inference", "inference"),
    ("AuditService", "Audit", "audit"),
]

let serviceKitDependencies: [Target.Dependency] = [
    "GatehouseWire",
    "GatehouseAuth",
    "GatehouseNATS",
    "ServiceKit",
    .product(name: "Configuration", package: "swift-configuration"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "PostgresNIO", package: "postgres-nio"),
    .product(name: "Hummingbird", package: "hummingbird"),
]

var targets: [Target] = [
    // MARK: - Shared
    .systemLibrary(
        name: "CNats",
        path: "Shared/CNats",
        pkgConfig: "libnats",
        providers: [.apt(["libnats-dev"])]
    ),
    .systemLibrary(
        name: "CArgon2",
        path: "Shared/CArgon2",
        pkgConfig: "libargon2",
        providers: [.apt(["libargon2-dev"])]
    ),
    .systemLibrary(
        name: "CLibPQ",
        path: "Shared/CLibPQ",
        pkgConfig: "libpq",
        providers: [.apt(["libpq-dev"])]
    ),
    .systemLibrary(
        name: "CQRencode",
        path: "Shared/CQRencode",
        pkgConfig: "libqrencode",
        providers: [.apt(["libqrencode-dev"])]
    ),
    .target(name: "GatehouseWire", path: "Shared/GatehouseWire"),
    .target(
        name: "GatehouseAuth",
        dependencies: ["GatehouseWire", .product(name: "Crypto", package: "swift-crypto")],
        path: "Shared/GatehouseAuth"
    ),
    .target(
        name: "GatehouseNATS",
        dependencies: [
            "CNats",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        path: "Shared/GatehouseNATS"
    ),
    .target(
        name: "ServiceKit",
        dependencies: [
            "GatehouseWire",
            "GatehouseAuth",
            "GatehouseNATS",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        path: "Shared/ServiceKit"
    ),
    .target(
        name: "ServiceKitTesting",
        dependencies: [
            "GatehouseNATS",
            "ServiceKit",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ],
        path: "Shared/ServiceKitTesting"
    ),

    // MARK: - SIP (signaling's message layer, kept free of I/O so it can be fuzzed)
    .target(name: "GatehouseSIP", path: "Services/Signaling/SIP"),

    // MARK: - Command-line tool
    .target(
        name: "GatehouseCLI",
        dependencies: [
            "GatehouseWire",
            "GatehouseAuth",
            "GatehouseNATS",
            "ServiceKit",
            "IdentityService",
            "AuditService",
            "AccessService",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ],
        path: "Services/CLI/GatehouseCLI"
    ),
    .executableTarget(
        name: "gatehouse",
        dependencies: ["GatehouseCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Services/CLI/Main"
    ),

    // MARK: - Door simulator: a 2N/Akuvox/DoorBird-style door station HTTP API for tests and demos
    .target(
        name: "DoorSimulator",
        dependencies: [
            "AccessService",
            "GatehouseAuth",
            "GatehouseWire",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        path: "Services/DoorSim/DoorSimulator"
    ),
    .executableTarget(
        name: "gatehouse-doorsim",
        dependencies: [
            "DoorSimulator",
            "GatehouseWire",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ],
        path: "Services/DoorSim/Main"
    ),

    // MARK: - Benchmarks (release-built by `make bench` only)
    .executableTarget(
        name: "gatehouse-bench",
        dependencies: [
            "GatehouseNATS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        path: "Tests/Benchmarks/NATSBench"
    ),

    .executableTarget(
        name: "gatehouse-audit-bench",
        dependencies: [
            "AuditService",
            "GatehouseWire",
            "ServiceKit",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ],
        path: "Tests/Benchmarks/AuditBench"
    ),

    .target(name: "OpenLoopBench", path: "Tests/Benchmarks/Support"),

    .executableTarget(
        name: "gatehouse-access-bench",
        dependencies: [
            "AccessService",
            "GatehouseNATS",
            "GatehouseWire",
            "OpenLoopBench",
            "ServiceKit",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ],
        path: "Tests/Benchmarks/AccessBench"
    ),

    .executableTarget(
        name: "gatehouse-identity-bench",
        dependencies: [
            "GatehouseNATS",
            "OpenLoopBench",
            "GatehouseWire",
            "ServiceKit",
            .product(name: "Logging", package: "swift-log"),
        ],
        path: "Tests/Benchmarks/IdentityBench"
    ),

    // MARK: - Tests
    .testTarget(name: "GatehouseWireTests", dependencies: ["GatehouseWire"], resources: [.copy("Fixtures")]),
    .testTarget(name: "GatehouseAuthTests", dependencies: ["GatehouseAuth", "GatehouseWire"]),
    .testTarget(
        name: "GatehouseNATSTests",
        dependencies: [
            "GatehouseNATS",
            "ServiceKitTesting",
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .testTarget(
        name: "ServiceKitTests",
        dependencies: [
            "GatehouseWire",
            "GatehouseNATS",
            "ServiceKit",
            "ServiceKitTesting",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]
    ),
    .testTarget(
        name: "ServicesTests",
        dependencies: services.map { .target(name: $0.module) } + [
            "GatehouseWire",
            "ServiceKit",
        ]
    ),
    .testTarget(name: "IdentityServiceTests", dependencies: ["IdentityService"]),
    .testTarget(name: "AccessServiceTests", dependencies: ["AccessService", "GatehouseWire"]),
    .testTarget(name: "GatehouseSIPTests", dependencies: ["GatehouseSIP"], resources: [.copy("Fixtures")]),
    .testTarget(name: "AuditServiceTests", dependencies: ["AuditService", "GatehouseWire", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(
        name: "GatehouseCLITests",
        dependencies: ["GatehouseCLI", "GatehouseWire", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .testTarget(
        name: "IntegrationTests",
        dependencies: services.map { .target(name: $0.module) } + [
            "GatehouseWire",
            "GatehouseAuth",
            "GatehouseNATS",
            "ServiceKit",
            "ServiceKitTesting",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            "GatehouseSIP",
            "DoorSimulator",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]
    ),
]

/// Extra dependencies of individual service libraries.
let serviceDependencies: [String: [Target.Dependency]] = [
    "AuditService": [
        "CLibPQ",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Metrics", package: "swift-metrics"),
    ],
    "SignalingService": [
        "GatehouseSIP",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
    ],
    "AccessService": [
        "CQRencode",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
    ],
    "IdentityService": [
        "CArgon2",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
    ],
]

// MARK: - Services: a library with all the logic plus a thin executable each
for service in services {
    targets.append(
        .target(
            name: service.module,
            dependencies: serviceKitDependencies + (serviceDependencies[service.module] ?? []),
            path: "Services/\(service.folder)/\(service.module)"
        )
    )
    targets.append(
        .executableTarget(
            name: service.executable,
            dependencies: [.target(name: service.module), "ServiceKit"],
            path: "Services/\(service.folder)/Main"
        )
    )
}

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v15)],
    products: services.map { .executable(name: $0.executable, targets: [$0.executable]) } + [
        .executable(name: "gatehouse", targets: ["gatehouse"]),
        .executable(name: "gatehouse-doorsim", targets: ["gatehouse-doorsim"]),
        .library(name: "GatehouseWire", targets: ["GatehouseWire"]),
        .library(name: "GatehouseAuth", targets: ["GatehouseAuth"]),
        .library(name: "GatehouseNATS", targets: ["GatehouseNATS"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "ServiceKitTesting", targets: ["ServiceKitTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // jwt-kit 5.7+ (identity) needs swift-crypto 4.x; keep the range open for it.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: targets
)

// CI (and `make test` under CI=true) turns warnings into errors for our own targets only.
let warningsAsErrors = Context.environment["GATEHOUSE_WARNINGS_AS_ERRORS"] == "1"

// The same settings for every target (swift-log / swift-configuration style).
for target in package.targets where [.regular, .executable, .test].contains(target.type) {
    var settings = target.swiftSettings ?? []
    if warningsAsErrors { settings.append(.unsafeFlags(["-warnings-as-errors"])) }
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
