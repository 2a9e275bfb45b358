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
    let generated = bindings::generate()?;
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
    copy("PalmKit.swift", "Sources/PalmKit/PalmKit.swift")?;
    copy("PalmKitFFI.h", "Sources/PalmKitFFI/PalmKitFFI.h")?;
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
    let lock_path = tools::cache_dir().join("trixie-swift.lock");
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
    let mut cmd = Command::new("chroot");
    cmd.arg(&chroot)
        .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8"])
        .arg("PATH=/usr/libexec/swift/bin:/usr/bin:/bin")
        .arg(format!("PALMKIT_LIB_DIR={}", static_dir.display()));
    for (key, value) in server.env() {
        cmd.arg(format!("{key}={value}"));
    }
    // XCTest only: the tests use no Swift Testing, whose empty "0 tests" report would
    // read as if nothing ran.
    cmd.args(["swift", "test", "--disable-swift-testing", "--package-path"])
        .arg(&package)
        .arg("--scratch-path")
        .arg(target.join("xtask/swift-build"));
    println!(
        "$ chroot {} swift test --package-path {}",
        chroot.display(),
        package.display()
    );
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run swift in the chroot: {e}"))?;
    drop(mounts);
    drop(lock);
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    // XCTest ends with "Executed N tests, with M failures ...".
    let summary = format!("{stdout}\n{stderr}");
    let executed = summary
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("Executed "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let n = words.next()?.parse::<usize>().ok()?;
            let failures = rest
                .split("with ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()?;
            Some((n, failures))
        })
        .next();
    match (output.status.success(), executed) {
        (true, Some((n, 0))) if n > 0 => {
            println!("Swift: {n} tests executed, 0 failed");
            Ok(n)
        }
        _ => Err("Swift tests failed (see the XCTest report above)".into()),
    }
}
