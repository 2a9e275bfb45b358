//! Enrollment records as the signed-in shopper, against the reference server: made and
//! read back by their owner only.

use crate::support;

use palmkit_core::account::AccountClient;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, ErrorKind};
use palmkit_core::protocol::{EnrollmentState, Hand};

#[tokio::test]
async fn enrollments_belong_to_their_shopper() {
    let (dir, server) = support::start_server(|_| {}).await;
    let shopper = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    support::log_in(&shopper, &server.client_config).await;
    let mine = EnrollmentClient::new(&shopper);
    let draft = mine.create(&[Hand::Left, Hand::Right]).await.unwrap();
    assert_eq!(draft.state, EnrollmentState::Draft);
    assert_eq!(mine.get(&draft.id).await.unwrap(), draft);

    // Unknown ids are a typed 404; ids that would change the path are refused unsent.
    let err = mine.get("enr-00").await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, code, .. } if code == "not_found"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(matches!(
        mine.get("../healthz").await,
        Err(Error::Protocol(_))
    ));

    // Not signed in: nothing to create or read.
    let anonymous = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    let err = EnrollmentClient::new(&anonymous)
        .create(&[Hand::Left])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignInRequired);

    // Another shopper cannot see it: "not found", not "forbidden".
    let db = palmkit_server::db::Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
    palmkit_server::accounts::create(&db, "other@palmkit.test", "Other", "other-password").unwrap();
    let other = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
    let url = other.start_login().await.unwrap();
    let redirect = palmkit_server::accounts::browser::ScriptedBrowser::new(&server.client_config)
        .unwrap()
        .login(url.as_str(), "other@palmkit.test", "other-password")
        .await
        .unwrap();
    other.finish_login(&redirect).await.unwrap();
    let err = EnrollmentClient::new(&other)
        .get(&draft.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Service { status: 404, .. }),
        "{err:?}"
    );
    server.shutdown().await;
}
