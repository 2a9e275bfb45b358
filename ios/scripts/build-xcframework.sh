#!/bin/sh
# On a Mac with Xcode 16+ and rustup: builds the FFI static library for devices and
# Apple-silicon simulators against the real iOS SDKs, generates the Swift bindings, and
# wraps the libraries in ios/PalmKit/PalmKitFFI.xcframework, which Package.swift then uses
# instead of the desktop library. Not runnable on Linux (no xcodebuild); `cargo xtask ios`
# builds the same two static libraries there. Nothing it writes is committed.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
out=$root/ios/PalmKit

rustup target add aarch64-apple-ios aarch64-apple-ios-sim
for target in aarch64-apple-ios aarch64-apple-ios-sim; do
    IPHONEOS_DEPLOYMENT_TARGET=17.0 cargo rustc --release -p palmkit-ffi --lib \
        --crate-type staticlib --target "$target"
done

# The bindings, from the host build of the same sources (library mode reads its metadata).
cargo build --release -p palmkit-ffi -p palmkit-uniffi-bindgen
# Two UniFFI namespaces (palmkit_ffi, palmkit_core) in one Swift module: each crate is
# generated alone (the bindgen names both sources PalmKit.swift), as `cargo xtask bindings`
# does.
headers=$(mktemp -d)
for crate in palmkit_ffi palmkit_core; do
    gen=$(mktemp -d)
    "$target_dir/release/uniffi-bindgen" generate --library "$target_dir/release/libpalmkit_ffi.dylib" \
        --language swift --config "$root/uniffi.toml" --crate "$crate" --out-dir "$gen"
    case $crate in
        palmkit_ffi) cp "$gen/PalmKit.swift" "$out/Sources/PalmKit/PalmKit.swift" ;;
        palmkit_core) cp "$gen/PalmKit.swift" "$out/Sources/PalmKit/PalmKitCore.swift" ;;
    esac
    cp "$gen"/*.h "$headers/"
done

# The XCFramework's headers: both C headers in one module, the map named for SwiftPM/Xcode.
cat > "$headers/module.modulemap" <<'MAP'
module PalmKitFFI {
    header "PalmKitFFI.h"
    header "PalmKitCoreFFI.h"
    export *
}
MAP

rm -rf "$out/PalmKitFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$target_dir/aarch64-apple-ios/release/libpalmkit_ffi.a" -headers "$headers" \
    -library "$target_dir/aarch64-apple-ios-sim/release/libpalmkit_ffi.a" -headers "$headers" \
    -output "$out/PalmKitFFI.xcframework"
ls -l "$target_dir"/aarch64-apple-ios*/release/libpalmkit_ffi.a
echo "made $out/PalmKitFFI.xcframework; next: cd ios/App && xcodegen && open PalmKit.xcodeproj"
