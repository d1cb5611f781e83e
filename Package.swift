// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        // The YAML config file (GATEHOUSE_CONFIG) layered under the environment.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        // stdio upstreams: spawning MCP servers and speaking to them on stdin/stdout.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // Already resolved through swift-configuration; the config file's resource list is parsed with it directly.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "Shared",
            dependencies: [
                "COpenSSL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                // The `resources` list of maps, which swift-configuration's YAML snapshot cannot hold (docs/gateway.md).
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "AuthServer",
            dependencies: [
                "Shared",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ResourceServer",
            dependencies: [
                "Shared",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Shared",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "Shared", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthServerTests",
            dependencies: [
                "AuthServer", "Shared", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ResourceServerTests",
            dependencies: [
                "ResourceServer", "AuthServer", "Shared", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// The libFuzzer harnesses (Fuzz/, docs/testing.md "Fuzzing"), declared only when scripts/fuzz.sh
// builds them (GATEHOUSE_FUZZ=1, into the scratch path .build-fuzz): `swift build` and `make test`
// never see them. Shared, which holds every parser they feed, and the harnesses are compiled for
// libFuzzer's coverage and AddressSanitizer; the packages below them are built as usual.
if Context.environment["GATEHOUSE_FUZZ"] == "1" {
    let sanitizers = ["-sanitize=fuzzer,address"]
    let harnesses: [(name: String, extra: [Target.Dependency])] = [
        ("FuzzJWT", []),
        ("FuzzForm", [.product(name: "Hummingbird", package: "hummingbird")]),
        ("FuzzJSONRPC", []),
        ("FuzzClientMetadata", []),
        ("FuzzRedirectURI", []),
        ("FuzzConfig", []),
    ]
    for target in package.targets where target.name == "Shared" {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitizers)]
    }
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport",
                                   swiftSettings: swiftSettings + [.unsafeFlags(sanitizers)]))
    for harness in harnesses {
        package.targets.append(.executableTarget(
            name: harness.name,
            dependencies: ["Shared", "FuzzSupport"] + harness.extra,
            path: "Fuzz/\(harness.name)",
            // `<Name>_main` hands over to libFuzzer's driver, which it finds exported (FuzzSupport).
            swiftSettings: swiftSettings + [.unsafeFlags(sanitizers + ["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(sanitizers + ["-Xlinker", "--export-dynamic-symbol=LLVMFuzzerRunDriver"])]
        ))
    }
}
