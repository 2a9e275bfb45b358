//! The `palmkit` binary as a user runs it.

use std::process::Command;

fn palmkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_palmkit"))
}

#[test]
fn demo_runs_every_step_and_passes() {
    let out = palmkit().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Health check over pinned TLS ... ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("a client pinned to another CA was refused"),
        "{stdout}"
    );
    assert!(stdout.contains("Demo passed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // Every step through the one session, each timed, to the store match that completes
    // the enrollment (another photo of the palm), after a different palm did not match.
    assert!(
        stdout.contains(
            "the session went signed in -> consent given -> capturing -> captured -> \
             payment chosen -> uploading -> pending store match -> complete -> signed out"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("palms/coep/003_1.jpg: no match (below_threshold"),
        "{stdout}"
    );
    assert!(
        stdout.contains("palms/coep/001_2.jpg: matched shopper shp-"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Health check over pinned TLS ... ok ("),
        "{stdout}"
    );
}

#[test]
fn the_binary_alone_says_what_the_demo_needs_before_starting_anything() {
    // As a newcomer runs it: no test-data or model variable, an empty home.
    let home = tempfile::tempdir().unwrap();
    let out = palmkit()
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    // One clear line naming each way to give it palms, and no server started.
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for needed in ["--palms DIR", "PALMKIT_TESTDATA", "cargo xtask demo"] {
        assert!(stderr.contains(needed), "{needed} not named: {stderr}");
    }
    assert!(!stdout.contains("Start the reference server"), "{stdout}");
    // And the help says so instead of promising no set-up.
    let help = palmkit().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("needs real palm photos"), "{help}");
    assert!(!help.contains("no set-up"), "{help}");
}

#[test]
fn demo_enrolls_the_hand_the_palms_folder_shows() {
    let testdata = std::path::PathBuf::from(
        std::env::var_os("PALMKIT_TESTDATA").expect("PALMKIT_TESTDATA (cargo xtask test sets it)"),
    );
    let dir = tempfile::tempdir().unwrap();
    // A left palm that passes every check, and one that shows the same hand again.
    for name in ["palm_kbyai_ex5.jpg", "palm_tommy_test1.jpg"] {
        std::fs::copy(testdata.join("palms").join(name), dir.path().join(name)).unwrap();
    }
    let out = palmkit()
        .args(["demo", "--palms"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("palm_kbyai_ex5.jpg: guidance"), "{stdout}");
    assert!(stdout.contains("the Left hand captured"), "{stdout}");
    assert!(
        stdout.contains("palm_tommy_test1.jpg: no capture (guidance went use_right_hand)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(left PendingMatch, right NotCaptured)"),
        "{stdout}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args(["demo", "--palms"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        format!("{stdout}{stderr}").contains("no JPEG or PNG files in it"),
        "{stdout}{stderr}"
    );
}

#[test]
fn help_points_a_newcomer_at_the_demo() {
    let out = palmkit().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for verb in ["demo", "serve", "health"] {
        assert!(text.contains(verb), "{text}");
    }
    assert!(text.contains("palmkit demo"), "{text}");
}

#[test]
fn health_without_a_server_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args(["health", "--config"])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("palmkit serve"), "{err}");
}

#[test]
fn serve_init_only_prepares_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args(["serve", "--init-only", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("tls/ca.pem").exists());
    assert!(dir.path().join("palmkit.sqlite3").exists());
}

/// Finding 6 of the attack on the service: the data directory was 0755 and the database
/// (the HPKE private keys) and the development attestation key 0644, readable by any
/// local user. Production (the default) keeps no development key at all.
#[cfg(unix)]
#[test]
fn the_data_directory_and_its_secrets_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for dev in [false, true] {
        let mut cmd = palmkit();
        cmd.args(["serve", "--init-only", "--data-dir"]).arg(&data);
        if dev {
            cmd.arg("--dev");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&data), 0o700, "data directory");
        assert_eq!(mode(&data.join("tls")), 0o700, "tls directory");
        for secret in ["palmkit.sqlite3", "tls/ca-key.pem", "tls/server-key.pem"] {
            assert_eq!(mode(&data.join(secret)), 0o600, "{secret}");
        }
        for wal in ["palmkit.sqlite3-wal", "palmkit.sqlite3-shm"] {
            if data.join(wal).exists() {
                assert_eq!(mode(&data.join(wal)), 0o600, "{wal}");
            }
        }
        let dev_key = data.join("dev-attestation.key");
        assert_eq!(
            dev_key.exists(),
            dev,
            "development key present in dev mode only"
        );
        if dev {
            assert_eq!(mode(&dev_key), 0o600, "dev-attestation.key");
        }
    }
    // A directory made loose (an older version, a copy) is tightened on the next start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("palmkit.sqlite3"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = palmkit()
        .args(["serve", "--init-only", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("palmkit.sqlite3")), 0o600);
    assert!(
        !data.join("dev-attestation.key").exists(),
        "production removes the dev key"
    );
}

#[test]
fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = palmkit()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("listening on https://127.0.0.1:"), "{first}");

    let out = palmkit()
        .args(["health", "--config"])
        .arg(dir.path().join("client-config.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("healthy"), "{stdout}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "server exit after SIGTERM: {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("Stopping")), "{rest:?}");
}

/// `palmkit login` end to end: the URL it prints is answered by the scripted browser
/// (`palmkit approve-login`), whose redirect is delivered to the loopback listener as a
/// browser would; then `whoami` and `logout` use the tokens from the kernel keyring.
/// Needs a writable session keyring: `cargo xtask test-rust` runs under `keyctl session`.
#[test]
fn login_whoami_logout_through_the_loopback_redirect() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let mut server = palmkit()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let server_out = server.stdout.take().unwrap();
    let _stop = KillOnDrop(server);
    let mut server_out = BufReader::new(server_out);
    let mut first = String::new();
    server_out.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut server_out, &mut std::io::sink()));
    let config = dir.path().join("client-config.json");

    let mut login = palmkit()
        .args(["login", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut login_out = BufReader::new(login.stdout.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(
            login_out.read_line(&mut line).unwrap() > 0,
            "login printed no URL"
        );
        if let Some(url) = line.trim().strip_prefix("https://") {
            break format!("https://{url}");
        }
    };
    let approved = palmkit()
        .args(["approve-login", "--config"])
        .arg(&config)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    let redirect = String::from_utf8(approved.stdout)
        .unwrap()
        .trim()
        .to_string();
    let target = redirect.strip_prefix("http://").unwrap();
    let (host, path) = target.split_once('/').unwrap();
    let mut browser = std::net::TcpStream::connect(host).unwrap();
    write!(
        browser,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut page = String::new();
    browser.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");

    let mut rest = String::new();
    login_out.read_to_string(&mut rest).unwrap();
    assert!(login.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("Logged in as Test Shopper"), "{rest}");

    let who = verb("whoami", &config);
    assert!(String::from_utf8_lossy(&who.stdout).contains("shopper@palmkit.test"));
    // The payment verbs, as the logged-in shopper (add-card needs a terminal: not here).
    let cards = verb("cards", &config);
    assert!(String::from_utf8_lossy(&cards.stdout).contains("No cards yet"));
    let link = palmkit()
        .args(["link", "--config"])
        .arg(&config)
        .arg("pm_not_in_wallet")
        .output()
        .unwrap();
    assert!(!link.status.success());
    assert!(String::from_utf8_lossy(&link.stderr).contains("not in the account's wallet"));

    // Upload: a real palm photo, sealed, resumable, then the enrollment submitted; a file
    // that is no image is refused before anything is sent.
    let photo = std::env::var_os("PALMKIT_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata")
        })
        .join("palms/palm_11k_f_p.jpg");
    // The server reads the palm (models from PALMKIT_MODELS): this photo shows a right
    // palm, so as the left hand's capture it is refused by name.
    let wrong = palmkit()
        .args(["upload", "--hand", "left", "--config"])
        .arg(&config)
        .arg(&photo)
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("wrong_hand"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let up = palmkit()
        .args(["upload", "--hand", "right", "--config"])
        .arg(&config)
        .arg(&photo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&up.stdout);
    assert!(
        up.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(text.contains("sealed bytes as upl-"), "{text}");
    assert!(
        text.contains("Submitted: the enrollment is PendingStoreMatch"),
        "{text}"
    );
    // Its status, then its deletion with all its biometric data, after which it is gone.
    let enrollment_id = text
        .lines()
        .find_map(|l| l.strip_prefix("Enrollment ")?.split(' ').next())
        .expect("upload names the enrollment")
        .to_string();
    let status = || {
        palmkit()
            .args(["status", "--config"])
            .arg(&config)
            .arg(&enrollment_id)
            .output()
            .unwrap()
    };
    let shown = status();
    let shown_text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{shown_text}");
    assert!(shown_text.contains("pending store match"), "{shown_text}");
    assert!(shown_text.contains("expires:"), "{shown_text}");

    // A store registers a scanner; its scans: another palm does not match, this palm
    // does (completing the enrollment); revoked, it is refused.
    let added = palmkit()
        .args(["store", "add", "--data-dir"])
        .arg(dir.path())
        .arg("shop-1")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token_file = dir.path().join("stores/shop-1.token");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let testdata = photo.parent().unwrap().to_path_buf();
    let scan = |photo: &std::path::Path| {
        palmkit()
            .args(["scan", "--store", "shop-1", "--config"])
            .arg(&config)
            .arg(photo)
            .output()
            .unwrap()
    };
    let other = scan(&testdata.join("coep/003_1.jpg"));
    let other_text = String::from_utf8_lossy(&other.stdout);
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    assert!(other_text.contains("no match"), "{other_text}");
    let same = scan(&photo);
    let same_text = String::from_utf8_lossy(&same.stdout);
    assert!(same_text.contains("matched shopper shp-"), "{same_text}");
    let shown = status();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("complete"));
    // One shopper, no duplicate palm: nothing is held; releasing what is not held is a
    // usage error that says where to look.
    let holds = |verb: &[&str]| {
        palmkit()
            .arg("holds")
            .args(verb)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let listed = holds(&["list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("No enrollment is held"));
    let released = holds(&["release", &enrollment_id]);
    assert!(!released.status.success());
    assert!(
        String::from_utf8_lossy(&released.stderr)
            .contains("is not held (see `palmkit holds list`)"),
        "{}",
        String::from_utf8_lossy(&released.stderr)
    );
    // The token kept by someone before the revocation.
    std::fs::copy(&token_file, dir.path().join("stolen.token")).unwrap();
    let revoked = palmkit()
        .args(["store", "revoke", "--data-dir"])
        .arg(dir.path())
        .arg("shop-1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("1 device(s) of shop-1 revoked"));
    let refused = palmkit()
        .args(["scan", "--store", "shop-1", "--token-file"])
        .arg(dir.path().join("stolen.token"))
        .arg("--config")
        .arg(&config)
        .arg(&photo)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("invalid_store_credential"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let deleted = palmkit()
        .args(["delete", "--config"])
        .arg(&config)
        .arg(&enrollment_id)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&deleted.stdout).contains("all its biometric data"),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let gone = status();
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("no such enrollment"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
    let not_image = dir.path().join("notes.txt");
    std::fs::write(&not_image, "not a palm").unwrap();
    let up = palmkit()
        .args(["upload", "--config"])
        .arg(&config)
        .arg(&not_image)
        .output()
        .unwrap();
    assert!(!up.status.success());
    assert!(String::from_utf8_lossy(&up.stderr).contains("not a JPEG or PNG"));

    let out = verb("logout", &config);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Logged out."));
    let who = verb("whoami", &config);
    assert!(!who.status.success());
    assert!(String::from_utf8_lossy(&who.stderr).contains("not logged in"));
}

/// Runs `palmkit VERB --config CONFIG`.
fn verb(verb: &str, config: &std::path::Path) -> std::process::Output {
    palmkit()
        .args([verb, "--config"])
        .arg(config)
        .output()
        .unwrap()
}

/// Stops a child process when the test ends, also when it fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn analyze_json_prints_one_object_per_input_with_the_promised_fields() {
    let testdata = std::env::var_os("PALMKIT_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata")
        });
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"not a jpeg").unwrap();
    let out = palmkit()
        .args(["analyze", "--json", "--hand", "left"])
        .arg(testdata.join("palms/palm_kbyai_ex5.jpg"))
        .arg(testdata.join("negatives/neg_skimage_coffee.png"))
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The unreadable file makes the run fail, after every file was reported.
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("1 file(s) could not be analyzed"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let palm = &lines[0];
    assert_eq!(palm["hand_found"], true);
    assert_eq!(palm["handedness"], "left");
    assert_eq!(palm["palm_facing"], true);
    assert_eq!(palm["guidance"], "hold_steady");
    assert_eq!(palm["capture_ready"], true);
    assert!(palm["quality"]["pixels"]["sharpness"].as_f64().unwrap() > 2.0);
    assert_eq!(palm["landmarks"].as_array().unwrap().len(), 21);
    // The spoof verdict of a still file: the single-picture layers decide, the live-frame
    // ones do not apply.
    let spoof = &palm["spoof"];
    assert_eq!(spoof["verdict"], "pass", "{spoof}");
    assert_eq!(spoof["layers"]["screen_replay"]["outcome"], "pass");
    assert!(spoof["layers"]["print"]["score"].as_f64().unwrap() < 1.0);
    for layer in ["capture_integrity", "motion_3d", "challenge"] {
        assert_eq!(
            spoof["layers"][layer]["outcome"], "not_applicable",
            "{spoof}"
        );
    }
    let none = &lines[1];
    assert_eq!(none["hand_found"], false);
    assert_eq!(none["handedness"], serde_json::Value::Null);
    assert_eq!(none["palm_facing"], serde_json::Value::Null);
    assert_eq!(none["guidance"], "no_hand");
    assert_eq!(none["capture_ready"], false);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("not a readable"),
        "{}",
        lines[2]
    );
}

#[test]
fn spoof_eval_prints_the_rates_and_writes_a_report() {
    let testdata = std::env::var_os("PALMKIT_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata")
        });
    let dir = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args([
            "spoof-eval",
            "--species",
            "screen_monitor,print_laser",
            "--report",
        ])
        .arg(dir.path())
        .arg(testdata.join("palms/palm_kbyai_ex5.jpg"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "bona fide",
        "BPCER",
        "screen_monitor",
        "print_laser",
        "APCER",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    assert!(!stdout.contains("screen_phone"), "{stdout}");
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = samples
        .iter()
        .map(|s| s["species"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "bona_fide",
            "screen_monitor",
            "print_laser",
            "planar_motion",
            "hand_motion_3d",
            "tilted_picture"
        ]
    );
    assert!(stdout.contains("3-D motion layer"), "{stdout}");
    // A tilted picture never closes its hand; the live path lets no still attack through.
    assert_eq!(samples[5]["challenge_met"]["close_and_open"], false);
    assert!(stdout.contains("close-and-open met:    0 of 1"), "{stdout}");
    assert!(
        stdout.contains("Live path") && stdout.contains("APCER    0.0 % (0 of 1)"),
        "{stdout}"
    );
    // The planar burst is never taken for a hand.
    assert_ne!(samples[3]["motion_3d"]["outcome"], "pass", "{}", samples[3]);
    assert_eq!(samples[0]["spoof"]["verdict"], "pass");
    assert!(samples[1]["pitch_px"].as_f64().unwrap() > 0.0);
    assert!(samples[2]["setup"].as_str().unwrap().contains("lpi"));
    assert!(dir.path().join("index.html").exists());
    // No simulated image is written unless asked for.
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 2, "only index.html and samples.jsonl");

    let bad = palmkit()
        .args(["spoof-eval", "--species", "hologram"])
        .arg(testdata.join("palms/palm_kbyai_ex5.jpg"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown species \"hologram\""));
}

/// The shared attestation samples' folder (`PALMKIT_TESTDATA`, or beside the repository).
fn attestation_dir() -> std::path::PathBuf {
    let base = std::env::var_os("PALMKIT_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata")
        });
    let dir = base.join("attestation");
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "no attestation samples at {}",
        dir.display()
    );
    dir
}

/// Every MANIFEST row through `palmkit attestation verify --json`: exactly one line with
/// the documented keys, the row's verdict, reason and environment.
#[test]
fn attestation_verify_gives_every_manifest_row_its_verdict() {
    let dir = attestation_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut rows = 0;
    for line in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, kind, app_id, challenge, at, environment, expected, reason, note) = (
            f[0],
            f[1],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7],
            f[8],
            f.get(9).copied().unwrap_or(""),
        );
        let mut cmd = palmkit();
        cmd.args([
            "attestation",
            "verify",
            "--json",
            "--kind",
            kind,
            "--app-id",
            app_id,
        ])
        .args(["--challenge", challenge]);
        if !at.is_empty() {
            cmd.args(["--at", at]);
        }
        for part in note.split([';', ' ']) {
            if let Some(key) = part.strip_prefix("key=") {
                cmd.arg("--key").arg(dir.join(key));
            }
            if let Some(previous) = part.strip_prefix("previous=") {
                cmd.args(["--previous-counter", previous]);
            }
        }
        let out = cmd.arg(dir.join(file)).output().unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = [
            "valid",
            "reason",
            "kind",
            "environment",
            "app_id",
            "key_id",
            "counter",
            "verified_boot",
            "device_locked",
            "packages",
            "signing_digests",
            "root",
        ];
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(v["valid"], (expected == "valid"), "{file} {stdout}");
        let got_reason = v["reason"].as_str().unwrap_or("");
        assert_eq!(got_reason, reason, "{file} {stdout}");
        assert_eq!(v["kind"], kind);
        if expected == "valid" && kind != "apple-assertion" {
            assert_eq!(v["environment"], environment, "{file}");
        }
        rows += 1;
    }
    assert_eq!(rows, 53);
}

/// A missing file or bad hex cannot be asked about (exit 2); unreadable bytes are a
/// verdict (`malformed`, exit 0).
#[test]
fn attestation_verify_tells_unusable_input_from_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.cbor");
    std::fs::write(&junk, b"\xff\x00not cbor").unwrap();
    let run = |args: &[&str], file: &std::path::Path| {
        palmkit()
            .args(["attestation", "verify", "--json"])
            .args(args)
            .arg(file)
            .output()
            .unwrap()
    };
    let apple = [
        "--kind",
        "apple-attestation",
        "--app-id",
        "T.a",
        "--challenge",
        "00",
    ];
    let out = run(&apple, &junk);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "malformed");
    assert_eq!(v["valid"], false);
    assert_eq!(
        run(&apple, &dir.path().join("missing")).status.code(),
        Some(2)
    );
    let bad_hex = [
        "--kind",
        "android-chain",
        "--app-id",
        "a",
        "--challenge",
        "xyz",
    ];
    assert_eq!(run(&bad_hex, &junk).status.code(), Some(2));
}
