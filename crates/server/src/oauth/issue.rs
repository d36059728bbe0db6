//! Minting the token response shared by every grant: a JWT access token, an ID token with
//! `openid`, and a refresh token when the client asked for `offline_access` and is registered
//! for the `refresh_token` grant.
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use latchkey_domain::oauth::Scopes;
use latchkey_domain::session::AuthMethods;
use latchkey_domain::{BearerToken, Millis, User};
use latchkey_proto::oauth::TokenResponse;
use latchkey_store::{ClientRecord, NewRefreshToken};

use super::OAuthError;
use crate::crypto::tokens::TokenRequest;
use crate::state::{AppState, AuthServer};

pub enum Grant<'a> {
    /// A code redemption: may start a refresh-token family; the nonce goes into the ID token.
    /// `context` is the token request's, for the System Log entry of the grant.
    /// `credential_at` is the password the sign-in proved; the refresh family carries it.
    Code {
        interaction_id: &'a str,
        nonce: Option<&'a str>,
        auth_time: Millis,
        context: &'a latchkey_store::EventContext,
        credential_at: Option<Millis>,
        /// What the sign-in proved (`amr`); the refresh family carries it.
        methods: AuthMethods,
    },
    /// A refresh: the successor token is already stored in the family. No nonce (OIDC Core
    /// §12.2); `auth_time` and `amr` stay the original sign-in's.
    Refresh { successor: &'a BearerToken, auth_time: Millis, methods: AuthMethods },
}

pub async fn issue(
    state: &AppState,
    server: AuthServer,
    client: &ClientRecord,
    user: &User,
    scopes: &Scopes,
    grant: Grant<'_>,
    now: Millis,
) -> Result<Response, OAuthError> {
    let (nonce, auth_time, methods) = match &grant {
        Grant::Code { nonce, auth_time, methods, .. } => (*nonce, *auth_time, *methods),
        Grant::Refresh { auth_time, methods, .. } => (None, *auth_time, *methods),
    };
    let issuer = state.issuer(server);
    let audience = state.audience(server);
    let lifetime = i64::try_from(state.settings.tokens.access_token_secs).unwrap_or(600);
    let keys = state.keys().await;
    let request = TokenRequest {
        issuer: &issuer,
        audience: &audience,
        client_id: &client.client_id,
        user,
        scopes,
        nonce,
        auth_time,
        methods,
        now,
        lifetime_secs: lifetime,
    };
    let tokens = crate::crypto::tokens::issue(&keys, &request).map_err(|e| OAuthError::Internal(e.into()))?;
    let wants_refresh = scopes.contains("offline_access") && client.grant_types.iter().any(|g| g == "refresh_token");
    let refresh_token = match grant {
        Grant::Refresh { successor, .. } => Some(successor.expose().to_owned()),
        Grant::Code { interaction_id, context, credential_at, .. } => {
            let (refresh, family) = if wants_refresh {
                let token = BearerToken::generate();
                let (idle_expires_at, family_expires_at) = state.refresh.new_family(now);
                let family = state
                    .store
                    .insert_refresh_token(
                        &NewRefreshToken {
                            token_digest: &token.digest(),
                            auth_server: server.as_str(),
                            client_id: &client.client_id,
                            user_id: &user.id,
                            scopes: &scopes.joined(),
                            auth_time,
                            idle_expires_at,
                            family_expires_at,
                            credential_at,
                            methods,
                        },
                        now,
                    )
                    .await?;
                (Some(token.expose().to_owned()), Some(family))
            } else {
                (None, None)
            };
            // A replay that raced this redemption has revoked these already: never hand them out.
            let recorded = state
                .store
                .record_code_tokens(interaction_id, &tokens.access_jti, tokens.access_exp * 1000, family.as_deref(), context, now)
                .await?;
            if !recorded {
                return Err(OAuthError::InvalidGrant("The code is invalid, expired or already used."));
            }
            refresh
        }
    };
    let body = TokenResponse {
        token_type: "Bearer".to_owned(),
        expires_in: lifetime,
        access_token: tokens.access_token,
        scope: scopes.joined(),
        id_token: tokens.id_token,
        refresh_token,
    };
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
