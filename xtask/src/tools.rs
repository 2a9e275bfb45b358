//! Installs what the binding tests need, once, into a cache outside the clone:
//!
//! - Debian packages: JNA and JUnit 4 (Kotlin tests), debootstrap (Swift chroot),
//!   the aarch64 cross linker (size report), keyutils (the OS credential store test).
//! - The Kotlin compiler from the npm package `kotlin-compiler` (the full distribution).
//! - Independent peers for the Rust tests, each pinned: npm `oidc-provider` (login),
//!   `@tus/server` + `@tus/file-store` (resumable upload), PyPI `localstripe` (card
//!   tokenization) and `pyhpke` (HPKE).
//! - Swift 6 for Linux: Debian bookworm has none, so a Debian trixie chroot (debootstrap)
//!   with trixie's `swiftlang`, kept in `$PALMKIT_CACHE/trixie-swift` (about 2.6 GB).
//!
//! Each step first checks whether its result is already there, so a warm run costs
//! nothing. The Debian mirror is read from this machine's apt sources.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// The Kotlin compiler version (npm package `kotlin-compiler`).
pub const KOTLIN_VERSION: &str = "2.4.20";
/// Debian packages the tests use.
pub const APT_PACKAGES: &[&str] = &[
    "libjna-java",
    "junit4",
    "debootstrap",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "keyutils",
];

/// Installs everything.
pub fn setup_all() -> Result<(), String> {
    ensure_apt(APT_PACKAGES)?;
    peers_dir()?;
    crate::models::ensure()?;
    kotlin_home()?;
    swift_chroot()?;
    Ok(())
}

/// Independent peers the Rust tests run against, from the npm registry, pinned.
/// (folder, [(package, version)]): the packages of one folder install together.
const NPM_PEERS: &[(&str, &[(&str, &str)])] = &[
    ("oidc", &[("oidc-provider", "9.13.3")]),
    (
        "tus",
        &[("@tus/server", "2.4.5"), ("@tus/file-store", "2.1.1")],
    ),
];

/// Independent peers from PyPI: (folder, package, version).
const PYPI_PEERS: &[(&str, &str, &str)] = &[
    ("localstripe", "localstripe", "1.15.10"),
    ("pyhpke", "pyhpke", "0.6.5"),
];

/// The folder holding the test peers (`oidc/node_modules/oidc-provider`, ...), installing
/// what is missing. The tests find it through `PALMKIT_PEERS_DIR`.
pub fn peers_dir() -> Result<PathBuf, String> {
    let dir = util::cache_dir().join("peers");
    for (folder, packages) in NPM_PEERS {
        let prefix = dir.join(folder);
        let have = packages.iter().all(|(package, version)| {
            let manifest = prefix
                .join("node_modules")
                .join(package)
                .join("package.json");
            std::fs::read_to_string(&manifest)
                .is_ok_and(|m| m.contains(&format!("\"version\": \"{version}\"")))
        });
        if have {
            continue;
        }
        let specs: Vec<String> = packages.iter().map(|(p, v)| format!("{p}@{v}")).collect();
        println!("Installing the test peer {} (npm)", specs.join(" "));
        std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
        util::run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&prefix)
                .args(&specs),
        )?;
    }
    install_pypi(&dir, PYPI_PEERS)?;
    Ok(dir)
}

/// What the benchmarks compare against, from PyPI, pinned: OpenCV for the quality measures,
/// onnxruntime for the hand models. Only `cargo xtask bench` installs them.
const BENCH_PEERS: &[(&str, &str, &str)] = &[
    ("opencv", "opencv-python-headless", "4.12.0.88"),
    ("onnxruntime", "onnxruntime", "1.26.0"),
];

/// The folder with the benchmark peers' virtual environments (`opencv/bin/python`, ...),
/// installing what is missing.
pub fn bench_peers_dir() -> Result<PathBuf, String> {
    let dir = util::cache_dir().join("peers");
    install_pypi(&dir, BENCH_PEERS)?;
    Ok(dir)
}

/// PyPI packages, each in a virtual environment of its own under `dir`.
fn install_pypi(dir: &std::path::Path, peers: &[(&str, &str, &str)]) -> Result<(), String> {
    for (folder, package, version) in peers {
        let venv = dir.join(folder);
        let marker = venv.join(format!(".installed-{package}-{version}"));
        if marker.exists() {
            continue;
        }
        println!("Installing the test peer {package}=={version} (PyPI)");
        let _ = std::fs::remove_dir_all(&venv);
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        util::run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("{package}=={version}")),
        )?;
        std::fs::write(&marker, "").map_err(|e| format!("{}: {e}", marker.display()))?;
    }
    Ok(())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// The nightly toolchain (minimal profile), installed when missing: cargo fuzz and the iOS
/// simulator's `-Z build-std` need it.
pub fn ensure_nightly() -> Result<(), String> {
    let have_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_nightly {
        util::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    Ok(())
}

/// Installs the Debian packages that are missing.
pub fn ensure_apt(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !util::is_root() {
        return Err(format!(
            "missing Debian packages: {} (install them with apt-get as root)",
            missing.join(" ")
        ));
    }
    println!("Installing Debian packages: {}", missing.join(" "));
    util::run(Command::new("apt-get").args(["update", "-qq"]))?;
    util::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing),
    )
}

/// The Kotlin distribution's home (with `bin/kotlinc` and `lib/`), installing it if needed.
pub fn kotlin_home() -> Result<PathBuf, String> {
    let home = util::cache_dir().join(format!("kotlin-{KOTLIN_VERSION}/package"));
    if home.join("bin/kotlinc").exists() && home.join("lib/kotlin-stdlib.jar").exists() {
        return Ok(home);
    }
    println!("Installing the Kotlin compiler {KOTLIN_VERSION} (npm package, ~90 MB)");
    let parent = home.parent().ok_or("bad cache path")?.to_path_buf();
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    util::run(
        Command::new("npm")
            .args([
                "pack",
                "--silent",
                &format!("kotlin-compiler@{KOTLIN_VERSION}"),
            ])
            .current_dir(&parent),
    )?;
    let tarball = parent.join(format!("kotlin-compiler-{KOTLIN_VERSION}.tgz"));
    util::run(
        Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&parent),
    )?;
    let _ = std::fs::remove_file(&tarball);
    if !home.join("bin/kotlinc").exists() {
        return Err(format!(
            "the Kotlin package has no bin/kotlinc under {}",
            home.display()
        ));
    }
    Ok(home)
}

/// The Debian trixie chroot with Swift, creating it if needed (about 3 minutes).
pub fn swift_chroot() -> Result<PathBuf, String> {
    let dir = util::cache_dir().join("trixie-swift");
    // /usr/bin/swift inside is an absolute symlink: test the real file.
    if dir.join("usr/libexec/swift/bin/swift").exists() {
        return Ok(dir);
    }
    if !util::is_root() {
        return Err("the Swift chroot must be made as root (debootstrap, mount, chroot)".into());
    }
    ensure_apt(&["debootstrap"])?;
    let mirror = debian_mirror()?;
    let tmp = util::cache_dir().join("trixie-swift.tmp");
    remove_tree(&tmp)?;
    std::fs::create_dir_all(util::cache_dir())
        .map_err(|e| format!("{}: {e}", util::cache_dir().display()))?;
    println!("Making the Swift chroot (Debian trixie + swiftlang, ~530 MB download)");
    util::run(
        Command::new("debootstrap")
            .args(["--variant=minbase", "trixie"])
            .arg(&tmp)
            .arg(&mirror),
    )?;
    {
        let _mounts = Mounts::system(&tmp)?;
        std::fs::copy("/etc/resolv.conf", tmp.join("etc/resolv.conf"))
            .map_err(|e| format!("copy resolv.conf: {e}"))?;
        util::run(
            Command::new("chroot")
                .arg(&tmp)
                .args(["apt-get", "update", "-qq"]),
        )?;
        util::run(
            Command::new("chroot")
                .arg(&tmp)
                .args([
                    "env",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                ])
                .args(["--no-install-recommends", "swiftlang", "libc6-dev"]),
        )?;
        util::run(Command::new("chroot").arg(&tmp).args(["apt-get", "clean"]))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
    Ok(dir)
}

/// The Debian mirror this machine's apt uses (deb822 `URIs:` or a `deb URL` line).
fn debian_mirror() -> Result<String, String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    for file in files {
        let name = file.to_string_lossy();
        if !(name.ends_with(".list") || name.ends_with(".sources")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let url = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if let Some(rest) = line.strip_prefix("deb ") {
                rest.split_whitespace().find(|w| w.contains("://"))
            } else {
                None
            };
            if let Some(url) = url
                && url.trim_end_matches('/').ends_with("/debian")
            {
                return Ok(url.to_string());
            }
        }
    }
    Err("no Debian mirror found in /etc/apt/sources.list{,.d}".into())
}

/// Deletes a tree that may once have had mounts in it, refusing while any is still there.
fn remove_tree(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    if mounts
        .lines()
        .any(|l| l.split(' ').nth(1).is_some_and(|m| m.starts_with(&prefix)))
    {
        return Err(format!("{prefix} still has mounts; unmount them first"));
    }
    util::run(
        Command::new("rm")
            .args(["-rf", "--one-file-system"])
            .arg(dir),
    )
}

/// Mounts made inside a chroot, unmounted (in reverse order) when dropped, also on error.
pub struct Mounts {
    points: Vec<PathBuf>,
}

impl Mounts {
    /// `/proc` and `/dev` inside the chroot.
    pub fn system(chroot: &Path) -> Result<Self, String> {
        let mut mounts = Self { points: Vec::new() };
        mounts.mount(&["-t", "proc", "proc"], &chroot.join("proc"))?;
        mounts.mount(&["--bind", "/dev"], &chroot.join("dev"))?;
        Ok(mounts)
    }

    /// Bind-mounts a host folder at the same path inside the chroot.
    pub fn bind_same_path(&mut self, chroot: &Path, host: &Path) -> Result<(), String> {
        let inside = chroot.join(host.strip_prefix("/").unwrap_or(host));
        std::fs::create_dir_all(&inside).map_err(|e| format!("{}: {e}", inside.display()))?;
        let host = host.to_string_lossy().into_owned();
        self.mount(&["--bind", &host], &inside)
    }

    fn mount(&mut self, args: &[&str], at: &Path) -> Result<(), String> {
        if is_mounted(at) {
            // Left over from an interrupted run: reuse it, but still unmount it after.
            self.points.push(at.to_path_buf());
            return Ok(());
        }
        util::capture(Command::new("mount").args(args).arg(at))?;
        self.points.push(at.to_path_buf());
        Ok(())
    }
}

fn is_mounted(at: &Path) -> bool {
    let target = at.to_string_lossy();
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(target.as_ref()))
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for point in self.points.iter().rev() {
            let ok = Command::new("umount")
                .arg(point)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(point).status();
            }
        }
    }
}
