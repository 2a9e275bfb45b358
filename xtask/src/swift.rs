//! The generated Swift bindings on Linux, with XCTest, against a real `palmkit serve`.
//!
//! Debian bookworm has no Swift, so `swift test` runs in the trixie chroot from `tools`,
//! with the workspace bind-mounted at the same path. The generated sources are copied into
//! the Swift package `ios/PalmKit` (git-ignored places), and the package links the host-built
//! static library, copied alone into a folder so the linker cannot pick the `.so`.

use std::process::Command;

use crate::tools::Mounts;
use crate::{bindings, harness, tools, util};

const PACKAGE: &str = "ios/PalmKit";

/// Runs the Swift tests; returns how many ran.
pub fn test() -> Result<usize, String> {
    let chroot = tools::swift_chroot()?;
    let generated = bindings::generate(&[bindings::Language::Swift])?;
    let root = util::root();
    let package = root.join(PACKAGE);
    for dir in ["Sources/PalmKit", "Sources/PalmKitFFI"] {
        let dir = package.join(dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let copy = |from: &str, to: &str| {
        let (from, to) = (generated.swift_dir.join(from), package.join(to));
        std::fs::copy(&from, &to)
            .map(|_| ())
            .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
    };
    for source in bindings::SWIFT_SOURCES {
        copy(source, &format!("Sources/PalmKit/{source}"))?;
    }
    for header in bindings::SWIFT_HEADERS {
        copy(header, &format!("Sources/PalmKitFFI/{header}"))?;
    }
    // SwiftPM wants the module map named module.modulemap, and it must say what to link.
    let modulemap = std::fs::read_to_string(generated.swift_dir.join("PalmKitFFI.modulemap"))
        .map_err(|e| format!("generated modulemap: {e}"))?;
    let modulemap = match modulemap.rfind('}') {
        Some(end) => format!("{}    link \"palmkit_ffi\"\n}}\n", &modulemap[..end]),
        None => return Err("generated modulemap has no module block".into()),
    };
    std::fs::write(
        package.join("Sources/PalmKitFFI/module.modulemap"),
        modulemap,
    )
    .map_err(|e| format!("write module.modulemap: {e}"))?;
    let static_dir = util::target_dir().join("xtask/swift-lib");
    std::fs::create_dir_all(&static_dir).map_err(|e| format!("{}: {e}", static_dir.display()))?;
    std::fs::copy(
        generated.lib_dir.join("libpalmkit_ffi.a"),
        static_dir.join("libpalmkit_ffi.a"),
    )
    .map_err(|e| format!("copy the static library: {e}"))?;

    let server = harness::TestServer::start("swift")?;
    // One user of the chroot at a time: a second run would unmount /proc and /dev under
    // the first one's feet when it ends.
    let lock_path = util::cache_dir().join("trixie-swift.lock");
    let lock =
        std::fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    let mut mounts = Mounts::system(&chroot)?;
    mounts.bind_same_path(&chroot, &root)?;
    let target = util::target_dir();
    if !target.starts_with(&root) {
        mounts.bind_same_path(&chroot, &target)?;
    }
    let swift = |args: &[&str]| {
        let mut cmd = Command::new("chroot");
        cmd.arg(&chroot)
            .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8"])
            .arg("PATH=/usr/libexec/swift/bin:/usr/bin:/bin")
            .arg(format!("PALMKIT_LIB_DIR={}", static_dir.display()));
        for (key, value) in server.env() {
            cmd.arg(format!("{key}={value}"));
        }
        cmd.arg("swift")
            .args(args)
            .arg("--package-path")
            .arg(&package)
            .arg("--scratch-path")
            .arg(target.join("xtask/swift-build"));
        println!(
            "$ chroot {} swift {} --package-path {}",
            chroot.display(),
            args.join(" "),
            package.display()
        );
        cmd.output()
            .map_err(|e| format!("cannot run swift in the chroot: {e}"))
    };
    // The UI target (SwiftUI, AVFoundation, ...) is all behind `#if canImport(...)`: on Linux
    // this parses it (a syntax error fails here) but cannot type-check it. No test depends
    // on it, so it is built on its own.
    let ui = swift(&["build", "--target", "PalmKitUI"])?;
    if !ui.status.success() {
        print!("{}", String::from_utf8_lossy(&ui.stdout));
        eprint!("{}", String::from_utf8_lossy(&ui.stderr));
        return Err("the PalmKitUI target does not parse (see above)".into());
    }
    println!("PalmKitUI: parsed (its Apple-only code is not type-checked on Linux)");
    // XCTest only: the tests use no Swift Testing, whose empty "0 tests" report would
    // read as if nothing ran.
    let output = swift(&["test", "--disable-swift-testing"])?;
    drop(mounts);
    drop(lock);
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    let app_classes = test_classes(&package.join("Tests/PalmKitAppTests"))?;
    let counts = count_cases(&format!("{stdout}\n{stderr}"), &app_classes);
    match (output.status.success(), counts) {
        (true, [(bindings, 0), (app, 0)]) if bindings > 0 && app > 0 => {
            println!("Swift: {bindings} tests executed, 0 failed");
            println!("iOS app: {app} tests executed, 0 failed");
            Ok(bindings + app)
        }
        (_, [(bindings, bf), (app, af)]) => Err(format!(
            "Swift tests failed: bindings {bindings} run, {bf} failed; iOS app {app} run, {af} failed (see the XCTest report above)"
        )),
    }
}

/// The XCTestCase classes declared in a test folder's files.
fn test_classes(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let mut classes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("final class ")
                && let Some((name, base)) = rest.split_once(':')
                && base.trim_start().starts_with("XCTestCase")
            {
                classes.push(name.trim().to_string());
            }
        }
    }
    Ok(classes)
}

/// (run, failed) of the bindings' tests and of the app's (`app_classes`), from XCTest's
/// "Test Case 'Class.method' passed|failed" lines.
fn count_cases(report: &str, app_classes: &[String]) -> [(usize, usize); 2] {
    let mut counts = [(0, 0); 2];
    for line in report.lines() {
        let Some(rest) = line.trim().strip_prefix("Test Case '") else {
            continue;
        };
        let Some((case, outcome)) = rest.split_once("' ") else {
            continue;
        };
        let failed = if outcome.starts_with("passed") {
            false
        } else if outcome.starts_with("failed") {
            true
        } else {
            continue; // "started"
        };
        let class = case.split('.').next().unwrap_or_default();
        let slot = &mut counts[usize::from(app_classes.iter().any(|c| c == class))];
        slot.0 += 1;
        slot.1 += usize::from(failed);
    }
    counts
}
