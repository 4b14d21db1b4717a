// swift-tools-version: 6.2
import PackageDescription

// One settings list for every target of ours: Swift 6 mode, strict concurrency, and
// warnings as errors (dependencies keep their own settings).
let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "scepops",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "scepops", targets: ["scepops"]),
        .executable(name: "scepops-devsim", targets: ["scepops-devsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libgit2 from Debian's libgit2-dev; the shim wraps its variadic functions.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),

        // glibc's malloc.h: mallopt, which the Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),

        // zlib from Debian's zlib1g-dev: inflating the objects of a git pack.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // OpenSSL from Debian's libssl-dev: the secret box, certificates, SCEP messages, CMS.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // Value types, validation, planning, rendering. No I/O, no dependencies.
        .target(name: "SCEPOpsCore", swiftSettings: settings),

        // Reading a config repo: working tree or a git commit (libgit2), YAML (Yams).
        .target(
            name: "SCEPOpsConfig",
            dependencies: ["SCEPOpsCore", "CGit2", "CZlib", .product(name: "Yams", package: "Yams")],
            swiftSettings: settings
        ),

        // The state: the store's roles, its two backends (SQLite, the embedded default, and
        // PostgreSQL, shared by replicas), their migrations, the secret box.
        .target(
            name: "SCEPOpsStore",
            dependencies: [
                "SCEPOpsCore", "COpenSSL", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: settings
        ),

        // SCEP: the client (PKCSReq/CertRep over OpenSSL), its HTTP transport, the per-CA gate.
        .target(
            name: "SCEP",
            dependencies: [
                "SCEPOpsCore", "COpenSSL",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),

        // Apple MDM: the check-in and command codecs, signature verification and the APNs client.
        .target(
            name: "MDM",
            dependencies: [
                "SCEPOpsCore", "COpenSSL",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),

        // The HTTP servers and what they run: the SCEP proxy, MDM, the profile worker, the admin
        // API with the plan, apply and drift that the CLI also runs locally.
        .target(
            name: "SCEPOpsServer",
            dependencies: [
                "SCEPOpsCore", "SCEPOpsStore", "SCEP", "MDM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: settings
        ),

        // The commands; the one place where adapters are wired together.
        .target(
            name: "SCEPOpsCLI",
            dependencies: [
                "SCEPOpsCore", "SCEPOpsConfig", "SCEPOpsStore", "SCEP", "SCEPOpsServer", "MDM", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(name: "scepops", dependencies: ["SCEPOpsCLI"], swiftSettings: settings, plugins: ["BuildCommit"]),
        // Writes the commit being built into the executable, for --version and the metrics.
        .plugin(name: "BuildCommit", capability: .buildTool()),

        // Simulated Apple hosts: enrolment, the MDM command channel, SCEP payloads run for real.
        .target(
            name: "DeviceSimulator",
            dependencies: [
                "SCEP", "COpenSSL",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "scepops-devsim",
            dependencies: ["DeviceSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: settings
        ),

        // Helpers the tests share: temp folders and git repos, running the built binary.
        .target(
            name: "SCEPOpsTestSupport",
            dependencies: [
                "SCEPOpsConfig", "SCEPOpsCore", "MDM",
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/SCEPOpsTestSupport",
            swiftSettings: settings
        ),
        // Server benchmarks (figures in the README): the proxy's overhead, one worker cycle
        // over 100,000 hosts, check-ins per second.
        .executableTarget(
            name: "scepops-server-bench",
            dependencies: [
                "SCEPOpsServer", "SCEPOpsStore", "SCEPOpsCore", "SCEP", "MDM", "SCEPOpsTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ServerBench",
            swiftSettings: settings
        ),
        // The direct path of the devsim benchmark: the SCEP client straight at a CA.
        .executableTarget(
            name: "scepops-scep-bench",
            dependencies: ["SCEP", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Benchmarks/SCEPBench",
            swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPOpsCoreTests", dependencies: ["SCEPOpsCore", "SCEPOpsTestSupport"], swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPOpsConfigTests",
            dependencies: ["SCEPOpsConfig", "SCEPOpsCore", "SCEPOpsTestSupport", "CGit2"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPOpsStoreTests",
            dependencies: [
                "SCEPOpsStore", "SCEPOpsCore", "SCEPOpsTestSupport", "SCEP",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPTests",
            dependencies: [
                "SCEP", "SCEPOpsCore", "SCEPOpsTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPOpsServerTests",
            dependencies: [
                "SCEPOpsServer", "SCEPOpsStore", "SCEPOpsCore", "SCEP", "SCEPOpsTestSupport", "MDM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "MDMTests",
            dependencies: [
                "MDM", "SCEPOpsTestSupport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "SCEPOpsCLITests",
            dependencies: ["SCEPOpsCore", "SCEPOpsTestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: settings
        ),
    ]
)
