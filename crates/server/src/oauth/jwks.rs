//! JWKS: every published, unretired RS256 signing key.
use axum::extract::State;
use axum::Json;
use latchkey_proto::oauth::{Jwk, Jwks};

use crate::state::AppState;

pub async fn handle(State(state): State<AppState>) -> Json<Jwks> {
    let keys = state.keys().await;
    Json(Jwks {
        keys: keys
            .published_keys()
            .iter()
            .map(|k| Jwk {
                kty: "RSA".to_owned(),
                alg: "RS256".to_owned(),
                use_: "sig".to_owned(),
                kid: k.kid.clone(),
                n: k.n.clone(),
                e: k.e.clone(),
            })
            .collect(),
    })
}
