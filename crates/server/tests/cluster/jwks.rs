//! Keys live in the database: processes started at the same moment on an empty database must
//! still agree on what they publish, or a token signed by one fails at another.
use serde_json::Value;

use crate::client::{interaction_code, PASSWORD};
use crate::harness::{Cluster, PROCESSES};
use crate::SERIAL;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_process_serves_the_same_jwks() {
    let _turn = SERIAL.lock().await;
    let cluster = Cluster::start(&[]).await;
    let mut sets = Vec::new();
    for i in 0..PROCESSES {
        let response =
            cluster.http.get(format!("{}/oauth2/default/v1/keys", cluster.direct_url(i))).send().await.expect("GET the JWKS directly");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert!(body["keys"].as_array().is_some_and(|keys| !keys.is_empty()), "process {i} publishes keys: {body}");
        sets.push(body);
    }
    assert!(sets.iter().all(|set| *set == sets[0]), "the processes publish different keys: {sets:#?}");

    // And a token signed by whichever process answered is accepted by every process.
    cluster.create_user("keys@example.com").await;
    let signed_in = cluster.sign_in("keys@example.com", PASSWORD, "openid").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let tokens = cluster.exchange(&interaction_code(&signed_in.body)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access_token = tokens.body["access_token"].as_str().expect("an access token");
    for i in 0..PROCESSES {
        let response = cluster
            .http
            .get(format!("{}/oauth2/default/v1/userinfo", cluster.direct_url(i)))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("GET userinfo directly");
        assert_eq!(response.status(), 200, "process {i} refuses a token signed by {}", tokens.served_by);
    }
}
