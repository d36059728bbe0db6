//! The OpenAPI 3.1 document of the public (IDX, OAuth/OIDC) and management APIs, served at
//! `GET /openapi.json`.
//!
//! Request and response bodies are the wire types' own schemas, derived from
//! `latchkey_proto` (`utoipa::ToSchema`), so a change to a wire type changes the document. The
//! operations are listed beside the routers, one file per adapter. What the schemas promise is
//! what the server does: IDX, interact and token bodies accept unknown members (real clients
//! send them); admin bodies refuse them (`additionalProperties: false`, from
//! `deny_unknown_fields`); every operation declares 429 and 503 with `Retry-After`, and
//! `default` in its adapter's error shape. `scripts/test` fuzzes the document against a
//! running server with schemathesis (`tests/openapi/run.sh`).
mod admin;
mod idx;
mod oauth;
mod ops;

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths};

use crate::state::AppState;

pub const PATH: &str = "/openapi.json";

/// The document, built once.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> OpenApi {
    let mut paths = Paths::new();
    let mut components = ComponentsBuilder::new().security_scheme(
        ops::SSWS,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`SSWS <admin token>` (Okta's API token scheme)",
        ))),
    );
    components = register_schemas(components);
    for adapter in [idx::operations(), oauth::operations(), admin::operations()] {
        for op in adapter {
            op.add_to(&mut paths);
        }
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Latchkey")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Okta IDX, OAuth 2.0 / OpenID Connect and the Okta-shaped management API, as Latchkey serves them."))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// Every wire type an operation names, and every type those contain (`schema_from` adds one
/// schema; the document's own test checks that every reference resolves).
fn register_schemas(components: ComponentsBuilder) -> ComponentsBuilder {
    use latchkey_proto::{idx, management, oauth};
    components
        .schema_from::<idx::IntrospectRequest>()
        .schema_from::<idx::IdentifyRequest>()
        .schema_from::<idx::RecoverRequest>()
        .schema_from::<idx::ChallengeRequest>()
        .schema_from::<idx::AnswerRequest>()
        .schema_from::<idx::ResendRequest>()
        .schema_from::<idx::CancelRequest>()
        .schema_from::<idx::PasscodeCredentials>()
        .schema_from::<idx::AuthenticatorRef>()
        .schema_from::<oauth::OAuthError>()
        .schema_from::<oauth::InteractResponse>()
        .schema_from::<oauth::TokenResponse>()
        .schema_from::<oauth::Jwks>()
        .schema_from::<oauth::Jwk>()
        .schema_from::<oauth::DiscoveryDocument>()
        .schema_from::<oauth::ClientMetadata>()
        .schema_from::<oauth::UserInfo>()
        .schema_from::<oauth::IntrospectionResponse>()
        .schema_from::<management::OktaError>()
        .schema_from::<management::ErrorCause>()
        .schema_from::<management::OktaUser>()
        .schema_from::<management::UserProfile>()
        .schema_from::<management::UserWrite>()
        .schema_from::<management::UserProfileWrite>()
        .schema_from::<management::CredentialsWrite>()
        .schema_from::<management::PasswordWrite>()
        .schema_from::<management::PasswordPolicyRuleWrite>()
        .schema_from::<management::PasswordRuleActions>()
        .schema_from::<management::SelfServicePasswordReset>()
        .schema_from::<management::RecoveryRequirement>()
        .schema_from::<management::RecoveryMethods>()
        .schema_from::<management::RecoveryStepUpWrite>()
        .schema_from::<management::AccessPolicyRuleWrite>()
        .schema_from::<management::AccessRuleActions>()
        .schema_from::<management::AppSignOn>()
        .schema_from::<management::VerificationMethod>()
}

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(serve))
}

async fn serve() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| document().to_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
    ([(CONTENT_TYPE, "application/json")], body.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_lists_every_adapter() {
        let json: serde_json::Value = serde_json::from_str(&document().to_json().expect("json")).expect("parse");
        assert_eq!(json["openapi"], "3.1.0");
        for path in ["/idp/idx/identify", "/oauth2/default/v1/token", "/oauth2/v1/token", "/api/v1/users/{id}", "/oauth2/v1/clients"] {
            assert!(json["paths"].get(path).is_some(), "{path} is documented");
        }
        let schemas = &json["components"]["schemas"];
        assert_eq!(schemas["UserWrite"]["additionalProperties"], false, "admin bodies refuse unknown members");
        assert!(schemas["IdentifyRequest"].get("additionalProperties").is_none(), "IDX bodies accept unknown members");
        let text = json.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(schemas.get(name).is_some(), "the reference to {name} resolves");
        }
        let identify = &json["paths"]["/idp/idx/identify"]["post"]["responses"];
        for status in ["200", "429", "503", "default"] {
            assert!(identify.get(status).is_some(), "identify declares {status}");
        }
    }
}
