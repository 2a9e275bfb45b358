//! Palm images never reach the phone's disk: a whole enrollment (live camera frames made
//! from a palm photo, auto-capture, sealing, upload, submit) runs in a child `palmkit demo
//! --server` under `strace -f -e trace=%file`, against a `palmkit serve --dev` in another
//! process. The client may read (the models, the photo it is shown, system files) but opens
//! no file for writing or creating at all — so no file can receive image bytes.
//! Needs strace (`cargo xtask test` installs it), the models and the test photos.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn palmkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_palmkit"))
}

/// The `open`-family calls of a strace log that could write: write or read-write access,
/// creation or truncation, and creating calls (`creat`, `mkdir`, `rename`, `link`...).
fn writing_calls(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| {
            let opens =
                line.contains("open(") || line.contains("openat(") || line.contains("openat2(");
            let writes = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                .iter()
                .any(|flag| line.contains(flag));
            let creates = [
                "creat(",
                "mkdir(",
                "mkdirat(",
                "rename(",
                "renameat",
                "link(",
                "linkat(",
                "symlink",
                "truncate(",
            ]
            .iter()
            .any(|call| line.contains(call));
            (opens && writes) || creates
        })
        // Failed calls wrote nothing; /dev/null and the terminal are not files.
        .filter(|line| !line.contains("= -1 "))
        .filter(|line| !line.contains("\"/dev/null\"") && !line.contains("\"/dev/tty\""))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_whole_enrollment_writes_no_file_on_the_client() {
    let testdata = PathBuf::from(
        std::env::var_os("PALMKIT_TESTDATA").expect("PALMKIT_TESTDATA (cargo xtask test sets it)"),
    );
    assert!(
        std::env::var_os("PALMKIT_MODELS").is_some(),
        "PALMKIT_MODELS (cargo xtask test sets it): the captures must come from camera frames"
    );
    let strace = Command::new("strace").arg("-V").output();
    assert!(
        strace.is_ok_and(|o| o.status.success()),
        "strace is missing: `cargo xtask test` installs it (apt install strace)"
    );

    let data = tempfile::tempdir().unwrap();
    let mut server = palmkit()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("listening on https://127.0.0.1:"), "{first}");

    let palms = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata.join("palms/palm_kbyai_ex5.jpg"),
        palms.path().join("palm.jpg"),
    )
    .unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%file", "-o"])
        .arg(log.path())
        .arg(env!("CARGO_BIN_EXE_palmkit"))
        .args(["demo", "--server"])
        .arg(data.path().join("client-config.json"))
        .arg("--palms")
        .arg(palms.path())
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The enrollment really happened, from camera frames.
    assert!(stdout.contains("the Left hand captured"), "{stdout}");
    assert!(
        stdout.contains("pending the first in-store palm match"),
        "{stdout}"
    );

    let log = std::fs::read_to_string(log.path()).unwrap();
    // The log is real: it saw the photo and the models being read.
    assert!(log.contains("palm.jpg"), "strace saw no photo being read");
    assert!(
        log.contains("SHA256SUMS"),
        "strace saw no models being read"
    );
    let writes = writing_calls(&log);
    assert!(
        writes.is_empty(),
        "the client opened files for writing:\n{}",
        writes.join("\n")
    );
}

#[test]
fn the_log_filter_sees_a_file_opened_for_writing() {
    // What the test above would flag, as strace prints it.
    let log = r#"4242 openat(AT_FDCWD, "/tmp/palm.jpg", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 7
4242 openat(AT_FDCWD, "/models/SHA256SUMS", O_RDONLY|O_CLOEXEC) = 8
4242 openat(AT_FDCWD, "/dev/null", O_RDWR) = 9
4243 openat(AT_FDCWD, "/nope/x", O_WRONLY|O_CREAT, 0600) = -1 ENOENT (No such file or directory)
4243 mkdir("/tmp/cache", 0777) = 0"#;
    let writes = writing_calls(log);
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].contains("/tmp/palm.jpg"));
    assert!(writes[1].contains("mkdir"));
}
