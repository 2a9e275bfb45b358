//! A whole login with the tokens in a real OS credential store: the Linux kernel keyring
//! (keyutils), as `palmkit login` uses on a desktop. `cargo xtask test-rust` runs the
//! tests inside a fresh `keyctl session`, so nothing leaks into the caller's keyring.

use crate::support;

use std::sync::Arc;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore, KeyringStore};
use palmkit_server::accounts::TEST_SHOPPER_EMAIL;

fn keyutils() -> Arc<KeyringStore> {
    let backend = linux_keyutils_keyring_store::Store::new()
        .expect("the kernel keyring is not usable here (is keyutils allowed in this sandbox?)");
    let store = Arc::new(KeyringStore::new(backend));
    if let Err(e) = store.save("palmkit-probe", "x") {
        panic!(
            "cannot write to the session keyring ({e}): run the tests with `cargo xtask test-rust`, which starts them under `keyctl session`"
        );
    }
    store.delete("palmkit-probe").unwrap();
    store
}

#[tokio::test]
async fn tokens_live_in_the_kernel_keyring_and_logout_removes_them() {
    let (_dir, server) = support::start_server(|_| {}).await;
    let client = AccountClient::new(&server.client_config, keyutils()).unwrap();
    support::log_in(&client, &server.client_config).await;

    // A second, independent store handle (as a later `palmkit whoami` process would make)
    // finds the login in the kernel, and can use it.
    let later = AccountClient::new(&server.client_config, keyutils()).unwrap();
    assert!(keyutils().load(&later.store_key()).unwrap().is_some());
    assert_eq!(later.account().await.unwrap().email, TEST_SHOPPER_EMAIL);

    later.logout().await.unwrap();
    assert!(keyutils().load(&client.store_key()).unwrap().is_none());
    assert!(!client.is_signed_in().unwrap());
    server.shutdown().await;
}
