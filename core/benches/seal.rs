//! Sealing a 5 MB capture (the whole envelope: one copy into the output, X25519 + HKDF key
//! schedule, ChaCha20-Poly1305) against the bare AEAD (the same `chacha20poly1305` crate HPKE
//! uses) encrypting the same bytes in place with a fixed key. Goal: sealing keeps at least
//! 90 % of the bare AEAD's throughput.
//!
//! `cargo bench -p palmkit-core --bench seal`

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palmkit_core::protocol::Hand;
use palmkit_core::upload::envelope::{self, AeadSuite, SealContext};

const SIZE: usize = 5 * 1024 * 1024;
const METADATA: &[u8] =
    br#"{"media_type":"image/jpeg","width":3024,"height":4032,"captured_at_ms":1,"source":"camera"}"#;

fn image() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 7 % 251) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let (_, public) = envelope::derive_key_pair(b"benchmark service key");
    let context = SealContext {
        account_id: "acct-0123456789abcdef",
        enrollment_id: "enr-0123456789abcdef0123456789abcdef",
        hand: Hand::Right,
        key_id: "k-0123456789ab",
    };
    let mut group = c.benchmark_group("seal_5MB");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(30);

    let plain = image();
    group.bench_function("envelope_seal_chacha20poly1305", |b| {
        b.iter(|| {
            envelope::seal(
                &plain,
                METADATA,
                &context,
                &public,
                AeadSuite::ChaCha20Poly1305,
            )
            .unwrap()
        })
    });
    group.bench_function("capture_seal_in_place_chacha20poly1305", |b| {
        b.iter_batched(
            || zeroize::Zeroizing::new(plain.clone()),
            |image| {
                envelope::seal_in_place(
                    image,
                    METADATA,
                    &context,
                    &public,
                    AeadSuite::ChaCha20Poly1305,
                )
                .unwrap()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    // Same conditions for both: a fresh copy of the image per iteration (made outside the
    // timing), encrypted where it lies.
    group.bench_function("bare_aead_chacha20poly1305_in_place", |b| {
        b.iter_batched(
            || plain.clone(),
            |mut buffer| {
                let tag = cipher
                    .encrypt_inout_detached(
                        &[0u8; 12].into(),
                        b"aad",
                        InOutBuf::from(buffer.as_mut_slice()),
                    )
                    .unwrap();
                (buffer, tag)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("envelope_seal_aes256gcm", |b| {
        b.iter(|| {
            envelope::seal(&plain, METADATA, &context, &public, AeadSuite::Aes256Gcm).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
