//! A 5 MB sealed capture uploaded over loopback to the reference server's tus endpoint by
//! the core's client, against `curl` sending the same sealed bytes to the same endpoint
//! (POST to create, one PATCH with the whole body), in the same run. Both end when the
//! server has received, opened and checked the capture. Goal: the core takes at most 1.2x
//! curl's time.
//!
//! `cargo bench -p palmkit-core --bench upload_loopback` (needs `curl` on the PATH and the
//! shared test data for the palm photo: PALMKIT_TESTDATA or ../shared/testdata).

use std::io::Cursor;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::ImageEncoder as _;
use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::protocol::{CaptureSource, Hand};
use palmkit_core::upload::envelope::SealContext;
use palmkit_core::upload::{
    AeadSuite, CancelToken, Capture, NoProgress, TusAuth, TusClient, TusOptions,
};
use palmkit_server::accounts::browser::ScriptedBrowser;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use zeroize::Zeroizing;

const ROUNDS: usize = 9;

/// A 5 MB PNG: the palm photo scaled up, stored uncompressed (nothing on the way may
/// shrink it).
fn five_megabyte_png() -> Vec<u8> {
    let dir = std::env::var_os("PALMKIT_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata")
        });
    let photo = image::open(dir.join("palms/palm_11k_f_p.jpg"))
        .expect("the palm photo (set PALMKIT_TESTDATA)")
        .to_rgb8();
    let side = 1290;
    let big = image::imageops::resize(&photo, side, side, image::imageops::FilterType::Triangle);
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        Cursor::new(&mut png),
        image::codecs::png::CompressionType::Uncompressed,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(big.as_raw(), side, side, image::ExtendedColorType::Rgb8)
    .unwrap();
    png
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn curl_upload(
    base_url: &str,
    ca: &std::path::Path,
    token: &str,
    body: &std::path::Path,
    length: usize,
    enrollment_id: &str,
) -> Duration {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let metadata = format!("enrollment_id {},hand {}", b64(enrollment_id), b64("right"));
    let started = Instant::now();
    let created = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(ca)
        .args(["-X", "POST"])
        .arg("-H")
        .arg(format!("authorization: Bearer {token}"))
        .args(["-H", "tus-resumable: 1.0.0"])
        .arg("-H")
        .arg(format!("upload-length: {length}"))
        .arg("-H")
        .arg(format!("upload-metadata: {metadata}"))
        .arg(format!("{base_url}v1/uploads"))
        .output()
        .expect("curl");
    let headers = String::from_utf8_lossy(&created.stdout);
    let location = headers
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no Location from curl's POST: {headers}"))
        .trim()
        .to_string();
    let patched = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(ca)
        .args(["-X", "PATCH"])
        .arg("-H")
        .arg(format!("authorization: Bearer {token}"))
        .args(["-H", "tus-resumable: 1.0.0"])
        .args(["-H", "upload-offset: 0"])
        .args(["-H", "content-type: application/offset+octet-stream"])
        .arg("--data-binary")
        .arg(format!("@{}", body.display()))
        .arg(format!("{}{}", base_url.trim_end_matches('/'), location))
        .output()
        .expect("curl");
    let took = started.elapsed();
    assert_eq!(
        String::from_utf8_lossy(&patched.stdout),
        "204",
        "curl's PATCH failed"
    );
    took
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = palmkit_server::start(palmkit_server::ServerOptions::development(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .await
        .unwrap();
        let config = server.client_config.clone();
        let store = Arc::new(KeyringStore::new(keyring_core::mock::Store::new().unwrap()));
        let account = AccountClient::new(&config, store).unwrap();
        let url = account.start_login().await.unwrap();
        let redirect = ScriptedBrowser::new(&config)
            .unwrap()
            .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
            .await
            .unwrap();
        account.finish_login(&redirect).await.unwrap();
        let me = account.account().await.unwrap();
        let enrollment = EnrollmentClient::new(&account)
            .create(&[Hand::Right])
            .await
            .unwrap();

        let png = five_megabyte_png();
        let capture = Capture::new(Zeroizing::new(png.clone()), CaptureSource::File).unwrap();
        let validated = config.validate().unwrap();
        let sealed = capture
            .seal(
                &SealContext {
                    account_id: &me.account_id,
                    enrollment_id: &enrollment.id,
                    hand: Hand::Right,
                    key_id: &validated.service_key_id,
                },
                &validated.service_public_key,
                AeadSuite::ChaCha20Poly1305,
            )
            .unwrap();
        let sealed_bytes = sealed.to_vec();
        let body = dir.path().join("sealed.bin");
        std::fs::write(&body, &sealed_bytes).unwrap();
        println!(
            "payload: {} byte PNG, {} bytes sealed; {} rounds each, medians",
            png.len(),
            sealed_bytes.len(),
            ROUNDS
        );

        let token = account.access_token().await.unwrap();
        let endpoint = account.net().url("v1/uploads").unwrap();
        let metadata = [("enrollment_id", enrollment.id.as_str()), ("hand", "right")];
        let mut ours = Vec::new();
        let mut ours_one_chunk = Vec::new();
        let mut curl = Vec::new();
        // Warm-up: one of each, not counted.
        for round in 0..=ROUNDS {
            let client = TusClient::new(
                account.net().http(),
                endpoint.clone(),
                TusAuth::Account(&account),
                TusOptions::default(),
            );
            let started = Instant::now();
            client
                .upload(&sealed, &metadata, &NoProgress, &CancelToken::new())
                .await
                .unwrap();
            let t_ours = started.elapsed();

            let whole = TusOptions {
                chunk_size: sealed_bytes.len(),
                ..TusOptions::default()
            };
            let client = TusClient::new(
                account.net().http(),
                endpoint.clone(),
                TusAuth::Account(&account),
                whole,
            );
            let started = Instant::now();
            client
                .upload(&sealed, &metadata, &NoProgress, &CancelToken::new())
                .await
                .unwrap();
            let t_one = started.elapsed();

            let t_curl = curl_upload(
                &server.base_url,
                &server.ca_path,
                &token,
                &body,
                sealed_bytes.len(),
                &enrollment.id,
            );
            if round > 0 {
                ours.push(t_ours);
                ours_one_chunk.push(t_one);
                curl.push(t_curl);
            }
        }
        let (ours, one, curl) = (median(ours), median(ours_one_chunk), median(curl));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "core tus client, 512 KiB chunks + sha256: {:8.1} ms",
            ms(ours)
        );
        println!(
            "core tus client, one 5 MB PATCH + sha256:  {:8.1} ms",
            ms(one)
        );
        println!(
            "curl (POST + one PATCH, new process each):  {:8.1} ms",
            ms(curl)
        );
        println!(
            "ratio core/curl: {:.2} (default chunks), {:.2} (one chunk); goal <= 1.20",
            ms(ours) / ms(curl),
            ms(one) / ms(curl)
        );
        server.shutdown().await;
    });
}
