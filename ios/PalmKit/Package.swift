// swift-tools-version:6.0
// The Swift package the iOS app consumes: the generated PalmKit bindings over the Rust core.
//
// The generated files (Sources/PalmKit/PalmKit.swift, Sources/PalmKitFFI/PalmKitFFI.h and
// module.modulemap) are not committed: `cargo xtask test-swift` generates and copies them.
// PALMKIT_LIB_DIR names the folder holding libpalmkit_ffi.a (on the desktop, the host
// build; in the app, the XCFramework replaces this).
import PackageDescription

let libDir = Context.environment["PALMKIT_LIB_DIR"] ?? "../../target/xtask/swift-lib"

let package = Package(
    name: "PalmKit",
    products: [.library(name: "PalmKit", targets: ["PalmKit"])],
    targets: [
        .systemLibrary(name: "PalmKitFFI", path: "Sources/PalmKitFFI"),
        .target(
            name: "PalmKit",
            dependencies: ["PalmKitFFI"],
            path: "Sources/PalmKit",
            linkerSettings: [.unsafeFlags(["-L", libDir])]
        ),
        .testTarget(name: "PalmKitTests", dependencies: ["PalmKit"], path: "Tests/PalmKitTests"),
    ]
)
