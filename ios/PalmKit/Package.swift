// swift-tools-version:6.0
// The Swift package the iOS app consumes, in three layers:
//
// - `PalmKit`: the generated bindings over the Rust core (with the `PalmKitFFI` C module).
//   Generated, not committed: `cargo xtask test-swift` generates and copies them.
// - `PalmKitApp`: the app's flow model over `EnrollmentSession` — Foundation and Observation
//   only, every platform service behind a protocol — so it is tested on Linux with XCTest
//   against a real `palmkit serve`.
// - `PalmKitUI`: SwiftUI screens and the Apple services (AVFoundation camera,
//   ASWebAuthenticationSession, App Attest, keychain, VoiceOver, haptics, os_log). Every
//   file is behind `#if canImport(...)`: on Linux it is parsed, not type-checked.
//
// PALMKIT_LIB_DIR names the folder holding libpalmkit_ffi.a (on the desktop, the host
// build; in the app, the XCFramework from ios/scripts/build-xcframework.sh replaces it).
import Foundation
import PackageDescription

let libDir = Context.environment["PALMKIT_LIB_DIR"] ?? "../../target/xtask/swift-lib"
/// On a Mac, after ios/scripts/build-xcframework.sh: the device and simulator libraries.
let xcframework = FileManager.default.fileExists(
    atPath: Context.packageDirectory + "/PalmKitFFI.xcframework")
let ffi: Target =
    xcframework
    ? .binaryTarget(name: "PalmKitFFI", path: "PalmKitFFI.xcframework")
    : .systemLibrary(name: "PalmKitFFI", path: "Sources/PalmKitFFI")

let package = Package(
    name: "PalmKit",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "PalmKit", targets: ["PalmKit"]),
        .library(name: "PalmKitApp", targets: ["PalmKitApp"]),
        .library(name: "PalmKitUI", targets: ["PalmKitUI"]),
    ],
    targets: [
        ffi,
        .target(
            name: "PalmKit",
            dependencies: ["PalmKitFFI"],
            path: "Sources/PalmKit",
            linkerSettings: xcframework ? [] : [.unsafeFlags(["-L", libDir])]
        ),
        .target(name: "PalmKitApp", dependencies: ["PalmKit"], path: "Sources/PalmKitApp"),
        .target(name: "PalmKitUI", dependencies: ["PalmKitApp"], path: "Sources/PalmKitUI"),
        .testTarget(name: "PalmKitTests", dependencies: ["PalmKit"], path: "Tests/PalmKitTests"),
        .testTarget(
            name: "PalmKitAppTests", dependencies: ["PalmKitApp"], path: "Tests/PalmKitAppTests"),
    ]
)
