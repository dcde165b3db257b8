//! tibr-tidb against a real MySQL-protocol server: the project-owned MariaDB with a
//! `mysql.tidb` table (see `tibr_tidb::testing`).

use std::time::{Duration, Instant};

use tibr_tidb::testing::{INITIAL_GC_LIFE_TIME, MariaDb};
use tibr_tidb::{
    ConnectOptions, Error, FailedAttempt, Password, TlsMaterial, connect, connect_reporting,
    connect_with, gc_life_time, set_gc_life_time,
};

#[tokio::test]
async fn reads_and_sets_the_gc_life_time() {
    let db = MariaDb::shared().lease().await;
    let mut conn = connect(&db.endpoint(), Duration::from_secs(10))
        .await
        .expect("connect as the test user");
    assert_eq!(gc_life_time(&mut conn).await.unwrap(), INITIAL_GC_LIFE_TIME);
    set_gc_life_time(&mut conn, "72h0m0s").await.unwrap();
    assert_eq!(gc_life_time(&mut conn).await.unwrap(), "72h0m0s");
    assert_eq!(
        db.gc_life_time(),
        "72h0m0s",
        "the server holds the new value"
    );
    // Setting the value it already has is a success (found rows, not changed rows).
    set_gc_life_time(&mut conn, "72h0m0s").await.unwrap();
    set_gc_life_time(&mut conn, INITIAL_GC_LIFE_TIME)
        .await
        .unwrap();
    assert_eq!(db.gc_life_time(), INITIAL_GC_LIFE_TIME);
    conn.close().await;
}

#[tokio::test]
async fn a_missing_row_is_an_error_not_a_silent_success() {
    let db = MariaDb::shared().lease().await;
    db.sql("DELETE FROM mysql.tidb WHERE variable_name = 'tikv_gc_life_time'")
        .unwrap();
    let mut conn = connect(&db.endpoint(), Duration::from_secs(10))
        .await
        .unwrap();
    let read = gc_life_time(&mut conn).await.unwrap_err();
    assert!(matches!(read, Error::MissingVariable { .. }), "{read}");
    let set = set_gc_life_time(&mut conn, "72h").await.unwrap_err();
    assert!(matches!(set, Error::MissingVariable { .. }), "{set}");
    assert!(set.to_string().contains("tikv_gc_life_time"), "{set}");
    db.sql(&format!(
        "INSERT INTO mysql.tidb VALUES ('tikv_gc_life_time', '{INITIAL_GC_LIFE_TIME}', 'restored')"
    ))
    .unwrap();
    conn.close().await;
}

#[tokio::test]
async fn a_wrong_password_fails_at_once_without_showing_it() {
    let db = MariaDb::shared();
    let mut endpoint = db.endpoint();
    let wrong = "not-the-password-7f3a9c";
    endpoint.password = Password::new(wrong);
    let started = Instant::now();
    let err = connect(&endpoint, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a refusal is not retried until the deadline"
    );
    assert!(matches!(err, Error::Refused { .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(text.contains("Access denied"), "{text}");
        assert!(!text.contains(wrong), "the password leaked: {text}");
        assert!(!text.contains(db.password()), "the password leaked: {text}");
    }
}

#[tokio::test]
async fn connecting_gives_up_at_the_deadline() {
    // Nothing listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut endpoint = MariaDb::shared().endpoint();
    endpoint.port = port;
    let options = ConnectOptions {
        deadline: Duration::from_millis(1500),
        retry_interval: Duration::from_millis(200),
        attempt_timeout: Duration::from_millis(500),
        query_timeout: Duration::from_secs(5),
    };
    let started = Instant::now();
    let err = connect_with(&endpoint, &options).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Connect { attempts, .. } => assert!(*attempts >= 3, "{err}"),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(took <= Duration::from_secs(5), "took {took:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn every_failed_attempt_is_reported_against_the_first_attempts_deadline() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db = MariaDb::shared();
    let mut endpoint = db.endpoint();
    endpoint.port = port;
    let options = ConnectOptions {
        deadline: Duration::from_millis(1500),
        retry_interval: Duration::from_millis(200),
        attempt_timeout: Duration::from_millis(500),
        query_timeout: Duration::from_secs(5),
    };
    let mut seen: Vec<FailedAttempt> = Vec::new();
    let err = connect_reporting(&endpoint, &options, |a| seen.push(a.clone()))
        .await
        .unwrap_err();
    let Error::Connect { attempts, .. } = err else {
        panic!("expected a connect error, got {err:?}");
    };
    assert_eq!(seen.len(), attempts as usize, "{seen:#?}");
    assert!(attempts >= 3, "{seen:#?}");
    let first = seen[0].first_attempt_at;
    for (i, a) in seen.iter().enumerate() {
        assert_eq!(a.attempt as usize, i + 1);
        assert_eq!(a.address, format!("127.0.0.1:{port}"));
        assert_eq!(a.first_attempt_at, first, "the deadline never moves");
        assert_eq!(a.gives_up_at(), first + Duration::from_millis(1500));
        assert!(
            !a.error.is_empty() && !a.error.contains(db.password()),
            "{a:?}"
        );
        let last = i + 1 == seen.len();
        assert_eq!(
            a.retry_in,
            (!last).then_some(Duration::from_millis(200)),
            "{a:?}"
        );
    }

    // A refusal ends the wait at its first report.
    let mut wrong = db.endpoint();
    wrong.password = Password::new("not-the-password-5e1d2b");
    let mut seen: Vec<FailedAttempt> = Vec::new();
    let err = connect_reporting(
        &wrong,
        &ConnectOptions::with_deadline(Duration::from_secs(60)),
        |a| seen.push(a.clone()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err:?}");
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].retry_in, None);
    assert!(
        !seen[0].error.contains("not-the-password-5e1d2b"),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn a_server_that_never_answers_cannot_hold_an_attempt_forever() {
    // Accepts TCP connections and never says a word (no MySQL greeting).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            sockets.push(s);
        }
    });
    let mut endpoint = MariaDb::shared().endpoint();
    endpoint.port = port;
    let options = ConnectOptions {
        deadline: Duration::from_secs(2),
        retry_interval: Duration::from_millis(300),
        attempt_timeout: Duration::from_millis(400),
        query_timeout: Duration::from_secs(5),
    };
    let started = Instant::now();
    let err = connect_with(&endpoint, &options).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(err.to_string().contains("no answer within"), "{err}");
    held.abort();
}

#[tokio::test]
async fn mutual_tls_with_the_clusters_ca() {
    let db = MariaDb::shared().lease().await;
    let mut conn = connect(&db.tls_endpoint(), Duration::from_secs(10))
        .await
        .expect("TLS with CA and client certificate");
    assert_eq!(gc_life_time(&mut conn).await.unwrap(), INITIAL_GC_LIFE_TIME);
    conn.close().await;

    // The certificate-only user cannot log in without its certificate.
    let mut no_cert = db.tls_endpoint();
    if let Some(tls) = no_cert.tls.as_mut() {
        tls.cert = None;
        tls.key = None;
    }
    let err = connect(&no_cert, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err:?}");

    // A CA that did not sign the server's certificate is refused at once.
    let other = MariaDb::shared().tls.client_cert_pem.clone();
    let mut wrong_ca = db.tls_endpoint();
    wrong_ca.tls = Some(TlsMaterial {
        ca: Some(other.into_bytes()),
        ..wrong_ca.tls.unwrap()
    });
    let started = Instant::now();
    let err = connect(&wrong_ca, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Skipping verification accepts the server whatever signed it.
    let mut skip = wrong_ca.clone();
    if let Some(tls) = skip.tls.as_mut() {
        tls.skip_ca_verify = true;
    }
    let mut conn = connect(&skip, Duration::from_secs(10))
        .await
        .expect("TLS without verifying the server");
    gc_life_time(&mut conn).await.unwrap();
    conn.close().await;
}

#[tokio::test]
async fn half_a_client_identity_is_refused_before_connecting() {
    let mut ep = MariaDb::shared().tls_endpoint();
    if let Some(tls) = ep.tls.as_mut() {
        tls.key = None;
    }
    let err = connect(&ep, Duration::from_secs(10)).await.unwrap_err();
    assert!(
        err.to_string().contains("only one of tls.crt and tls.key"),
        "{err}"
    );
}
