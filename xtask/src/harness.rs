//! The test harness's reference server: a real `palmkit serve` process on a free
//! 127.0.0.1 port with a fresh data directory, plus a second data directory whose CA the
//! tests use as "another CA". Stopped with SIGTERM (graceful shutdown) when dropped.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::util;

/// The Android package the test server trusts statements of.
pub const TEST_ANDROID_PACKAGE: &str = "com.palmkit.app";
/// The iOS app the test server trusts statements of.
pub const TEST_APPLE_APP_ID: &str = "ABCDE12345.com.palmkit.app";

/// A running `palmkit serve` for the binding tests.
pub struct TestServer {
    child: Child,
    /// The client configuration it wrote.
    pub config_path: PathBuf,
    /// The CA certificate of a different data directory.
    pub other_ca_path: PathBuf,
    work: PathBuf,
}

impl TestServer {
    /// Starts the server (the CLI must already be built) and waits until it listens.
    pub fn start(name: &str) -> Result<Self, String> {
        let work = util::target_dir().join("xtask").join(name);
        let _ = std::fs::remove_dir_all(&work);
        let palmkit = util::target_dir().join("debug/palmkit");
        let other = work.join("other-data");
        util::capture(
            Command::new(&palmkit)
                .args(["serve", "--dev", "--init-only", "--data-dir"])
                .arg(&other),
        )?;
        // A test attestation root the server trusts as an extra root: the bindings' fake
        // App Attest and Key Attestation devices make statements under it with
        // `palmkit attestation test-*`, which the server verifies like a device's.
        let attestation_root = work.join("attestation-root");
        util::capture(
            Command::new(&palmkit)
                .args(["attestation", "test-root", "--out"])
                .arg(&attestation_root),
        )?;
        let data = work.join("data");
        let mut child = Command::new(&palmkit)
            // Without palm reading: these tests exercise the bindings' protocol with one
            // photo uploaded as either hand; the palm checks and the store match are the
            // Rust tests' (core/tests/integration/store_match.rs).
            .args([
                "serve",
                "--dev",
                "--no-models",
                "--listen",
                "127.0.0.1:0",
                "--android-package",
                TEST_ANDROID_PACKAGE,
                "--apple-app-id",
                TEST_APPLE_APP_ID,
                "--attestation-root",
            ])
            .arg(attestation_root.join("root.pem"))
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start palmkit serve: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout from palmkit serve")?;
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|e| format!("reading palmkit serve output: {e}"))?;
        if !first.contains("listening on") {
            let _ = child.kill();
            return Err(format!("palmkit serve did not start: {first:?}"));
        }
        println!("test server: {}", first.trim());
        // A real palm photograph for the upload tests, copied beside the server so the
        // Swift chroot (which sees only the repository and the target dir) can read it.
        let image = work.join("palm.jpg");
        std::fs::copy(util::testdata_dir()?.join(util::TEST_PHOTO), &image)
            .map_err(|e| format!("copying the test photo: {e}"))?;
        // The hand models and raw camera frames of a real palm photo for the frame
        // analysis tests, beside the server for the same reason.
        let models = work.join("models");
        std::fs::create_dir_all(&models).map_err(|e| format!("{}: {e}", models.display()))?;
        let provisioned = crate::models::ensure()?;
        for file in crate::models::SHIPPED {
            let (from, to) = (provisioned.join(file), models.join(file));
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
            }
        }
        util::capture(
            Command::new(&palmkit)
                .args(["export-frames", "--out"])
                .arg(work.join("frames"))
                .arg(util::testdata_dir()?.join(util::ANALYSIS_PHOTO)),
        )?;
        Ok(Self {
            child,
            config_path: data.join("client-config.json"),
            other_ca_path: other.join("tls/ca.pem"),
            work,
        })
    }

    /// Environment the Kotlin and Swift tests read. `PALMKIT_CLI` is the `palmkit`
    /// binary, whose `approve-login` plays the shopper at the login page.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let cli = util::target_dir().join("debug/palmkit");
        vec![
            (
                "PALMKIT_TEST_CONFIG",
                self.config_path.display().to_string(),
            ),
            (
                "PALMKIT_TEST_OTHER_CA",
                self.other_ca_path.display().to_string(),
            ),
            ("PALMKIT_CLI", cli.display().to_string()),
            (
                "PALMKIT_TEST_ATTESTATION_ROOT",
                self.work.join("attestation-root").display().to_string(),
            ),
            (
                "PALMKIT_TEST_IMAGE",
                self.work.join("palm.jpg").display().to_string(),
            ),
            (
                "PALMKIT_TEST_MODELS",
                self.work.join("models").display().to_string(),
            ),
            (
                "PALMKIT_TEST_FRAMES",
                self.work.join("frames").display().to_string(),
            ),
            // The server's development attestation key (base64url), for the fake attestors.
            (
                "PALMKIT_TEST_DEV_ATTESTATION_KEY",
                self.work
                    .join("data/dev-attestation.key")
                    .display()
                    .to_string(),
            ),
        ]
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}
