// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "chargepile",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chargepile", targets: ["chargepile"]),
        .executable(name: "chargepile-bench", targets: ["chargepile-bench"]),
    ],
    dependencies: [
        // One trait, not the default two: SwiftPM passes a package's enabled traits to the compiler in an
        // order that changes from one `swift build`/`swift run` to the next, so with two of them every other
        // call rebuilt Hummingbird (seconds to half a minute). We use neither swift-configuration support.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // The C module map for libpq; only PostgresClient imports it.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "ChargingDomain"),
        // chargepile's own pile protocol: frames both ways, limits, close codes. Foundation only.
        .target(name: "PileProtocol"),
        // OCPP 1.6J: framing, schema checks, typed payloads, the one-call-in-flight session state machine. Foundation only.
        .target(name: "OCPP16"),
        .target(
            name: "ChargingStore",
            dependencies: ["PostgresClient", "ChargingDomain"],
            resources: [.copy("Migrations")]
        ),
        .target(
            name: "PileRouting",
            dependencies: [
                "PostgresClient",
                "ChargingDomain",
                "ChargingStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "EmbeddedPostgres"),
        // `chargepile serve` children on loopback, for the multi-process tests and the benchmarks.
        .target(name: "LocalCluster", dependencies: ["EmbeddedPostgres"]),
        .target(
            name: "PileSimulator",
            dependencies: [
                "OCPP16",
                "PileProtocol",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ChargingServer",
            dependencies: [
                "OCPP16",
                "PileProtocol",
                "PostgresClient",
                "ChargingDomain",
                "ChargingStore",
                "PileRouting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/console")]
        ),
        .executableTarget(
            name: "chargepile",
            dependencies: [
                "PostgresClient",
                "ChargingDomain",
                "ChargingStore",
                "ChargingServer",
                "EmbeddedPostgres",
                "PileSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The benchmarks, each against a reference measured in the same run; they start the `chargepile` next to them.
        .executableTarget(
            name: "chargepile-bench",
            dependencies: [
                "PostgresClient",
                "ChargingDomain",
                "ChargingServer",
                "EmbeddedPostgres",
                "LocalCluster",
                "PileProtocol",
                "PileSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Shared by the test targets: a live embedded PostgreSQL per test process.
        .target(
            name: "TestSupport",
            dependencies: ["EmbeddedPostgres", "PostgresClient"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(name: "ChargingDomainTests", dependencies: ["ChargingDomain", "PileSimulator"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OCPP16Tests", dependencies: ["OCPP16"]),
        .testTarget(name: "PileProtocolTests", dependencies: ["PileProtocol"]),
        .testTarget(
            name: "ChargingServerTests",
            dependencies: [
                "ChargingServer", "ChargingStore", "PileRouting", "PileSimulator", "TestSupport", "LocalCluster", "EmbeddedPostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
