"""An independent implementation of the PalmKit capture envelope (docs/capture-envelope.md)
over PyPI `pyhpke`, for the interop tests in core/tests/pyhpke.rs.

  open  ENVELOPE PRIVATE_KEY_HEX ACCOUNT ENROLLMENT HAND OUT
        parses the header, builds the AAD, opens; writes the plaintext to OUT and prints
        the key id, AEAD id and metadata as JSON, with the sealed spoof verdict opened
        ("spoof") when the metadata has one.
  seal  PUBLIC_KEY_HEX KEY_ID ACCOUNT ENROLLMENT HAND METADATA_FILE PLAINTEXT_FILE AEAD OUT
        AEAD is "chacha" or "aes"; writes the envelope to OUT.
"""

import base64
import hashlib
import json
import struct
import sys

from pyhpke import AEADId, CipherSuite, KDFId, KEMId

MAGIC = b"PKSE"
VERSION = 1
INFO = b"palmkit/capture-envelope/v1"
AAD_LABEL = b"palmkit/capture-aad/v1"
SPOOF_INFO = b"palmkit/spoof-verdict/v1"
SPOOF_AAD_LABEL = b"palmkit/spoof-aad/v1"
AEADS = {"chacha": AEADId.CHACHA20_POLY1305, "aes": AEADId.AES256_GCM}


def suite(aead_id):
    return CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, aead_id)


def u16_prefixed(data):
    return struct.pack(">H", len(data)) + data


def aad(account, enrollment, hand, metadata, key_id):
    return (
        AAD_LABEL
        + u16_prefixed(account.encode())
        + u16_prefixed(enrollment.encode())
        + u16_prefixed(hand.encode())
        + hashlib.sha256(metadata).digest()
        + u16_prefixed(key_id.encode())
    )


def open_spoof(sealed_b64, aead_id, private_key, account, enrollment, hand, key_id):
    raw = base64.b64decode(sealed_b64, validate=True)
    enc, ciphertext = raw[:32], raw[32:]
    s = suite(AEADId(aead_id))
    skr = s.kem.deserialize_private_key(private_key)
    recipient = s.create_recipient_context(enc, skr, info=SPOOF_INFO)
    aad = (
        SPOOF_AAD_LABEL
        + u16_prefixed(account.encode())
        + u16_prefixed(enrollment.encode())
        + u16_prefixed(hand.encode())
        + u16_prefixed(key_id.encode())
    )
    return json.loads(recipient.open(ciphertext, aad=aad))


def open_envelope(envelope, private_key, account, enrollment, hand):
    if envelope[:4] != MAGIC or envelope[4] != VERSION:
        raise ValueError("not a version-1 envelope")
    kem, kdf, aead = struct.unpack(">HHH", envelope[5:11])
    if (kem, kdf) != (0x0020, 0x0001):
        raise ValueError("unsupported suite")
    pos = 11
    key_len = envelope[pos]
    pos += 1
    key_id = envelope[pos : pos + key_len].decode("ascii")
    pos += key_len
    (meta_len,) = struct.unpack(">H", envelope[pos : pos + 2])
    pos += 2
    metadata = envelope[pos : pos + meta_len]
    pos += meta_len
    enc = envelope[pos : pos + 32]
    pos += 32
    ciphertext = envelope[pos:]
    s = suite(AEADId(aead))
    skr = s.kem.deserialize_private_key(private_key)
    recipient = s.create_recipient_context(enc, skr, info=INFO)
    plaintext = recipient.open(ciphertext, aad=aad(account, enrollment, hand, metadata, key_id))
    return plaintext, key_id, aead, metadata


def seal_envelope(public_key, key_id, account, enrollment, hand, metadata, plaintext, aead_id):
    s = suite(aead_id)
    pkr = s.kem.deserialize_public_key(public_key)
    enc, sender = s.create_sender_context(pkr, info=INFO)
    sealed = sender.seal(plaintext, aad=aad(account, enrollment, hand, metadata, key_id))
    header = (
        MAGIC
        + bytes([VERSION])
        + struct.pack(">HHH", 0x0020, 0x0001, aead_id.value)
        + bytes([len(key_id)])
        + key_id.encode("ascii")
        + u16_prefixed(metadata)
    )
    return header + enc + sealed


def main(argv):
    if argv[1] == "open":
        envelope_path, key_hex, account, enrollment, hand, out = argv[2:8]
        envelope = open(envelope_path, "rb").read()
        plaintext, key_id, aead, metadata = open_envelope(
            envelope, bytes.fromhex(key_hex), account, enrollment, hand
        )
        open(out, "wb").write(plaintext)
        said = {"key_id": key_id, "aead": aead, "metadata": json.loads(metadata)}
        if "sealed_spoof" in said["metadata"]:
            said["spoof"] = open_spoof(
                said["metadata"]["sealed_spoof"],
                aead,
                bytes.fromhex(key_hex),
                account,
                enrollment,
                hand,
                key_id,
            )
        print(json.dumps(said))
    elif argv[1] == "seal":
        key_hex, key_id, account, enrollment, hand, meta_path, pt_path, aead, out = argv[2:11]
        envelope = seal_envelope(
            bytes.fromhex(key_hex),
            key_id,
            account,
            enrollment,
            hand,
            open(meta_path, "rb").read(),
            open(pt_path, "rb").read(),
            AEADS[aead],
        )
        open(out, "wb").write(envelope)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
