//! Whole recoveries whose consecutive requests land on different processes: a transaction, a
//! code and a reset grant live in the database, never in one process's memory.
use serde_json::json;

use crate::client::{interaction_code, remediation_names, NEW_PASSWORD, PASSWORD};
use crate::harness::{Cluster, PROCESSES};
use crate::{code_from_mail, recover_by_email, SERIAL};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recoveries_roam_across_processes() {
    let _turn = SERIAL.lock().await;
    let cluster = Cluster::start(&[]).await;
    for i in 0..3 {
        let login = format!("roamer{i}@example.com");
        cluster.create_user(&login).await;
        let mut served_by = Vec::new();

        let (flow, begun) = cluster.try_begin("openid profile email", &format!("roam-{i}")).await.expect("interact and introspect");
        served_by.extend(begun);
        let replies = recover_by_email(&cluster, &flow, &login).await.expect("recovery start");
        let challenge = replies.last().expect("the challenge reply");
        assert_eq!(challenge.status, 200, "challenge: {}", challenge.body);
        assert_eq!(remediation_names(&challenge.body), ["challenge-authenticator"]);
        served_by.extend(replies.iter().map(|r| r.served_by.clone()));

        let code = code_from_mail(&cluster, &login, 1).await;
        let answer = cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
        assert_eq!(answer.status, 200, "the code: {}", answer.body);
        assert_eq!(remediation_names(&answer.body), ["reset-authenticator"]);
        let reset = cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
        assert_eq!(reset.status, 200, "the new password: {}", reset.body);
        let tokens = cluster.exchange(&interaction_code(&reset.body)).await;
        assert_eq!(tokens.status, 200, "the exchange: {}", tokens.body);
        assert!(tokens.body["id_token"].is_string() && tokens.body["access_token"].is_string(), "{}", tokens.body);
        served_by.extend([answer.served_by, reset.served_by, tokens.served_by]);

        // Round robin with no stickiness: every step ran on another process than the one before.
        assert!(served_by.windows(2).all(|pair| pair[0] != pair[1]), "consecutive requests on one process: {served_by:?}");
        let distinct: std::collections::BTreeSet<_> = served_by.iter().collect();
        assert_eq!(distinct.len(), PROCESSES, "{served_by:?}");

        let signed_in = cluster.sign_in(&login, NEW_PASSWORD, "openid").await;
        assert_eq!(signed_in.status, 200, "sign-in with the new password: {}", signed_in.body);
        let tokens = cluster.exchange(&interaction_code(&signed_in.body)).await;
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        let old = cluster.sign_in(&login, PASSWORD, "openid").await;
        assert_eq!(old.status, 401, "the old password is dead on every process: {}", old.body);
    }
}
