//! The IDX endpoints (`idx::router`): every answer, errors included, is the IDX envelope.
use latchkey_proto::idx::{
    AnswerRequest, CancelRequest, ChallengeRequest, IdentifyRequest, IntrospectRequest, RecoverRequest, ResendRequest,
};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

use super::ops::{any_object, schema_ref, Body, Errors, Op, Reply};

pub fn operations() -> Vec<Op> {
    let step = |path: &str, summary: &'static str, body: RefOr<Schema>| {
        Op::new(&[HttpMethod::Post], format!("/idp/idx/{path}"), "idx", summary)
            .body(Body::Json(body))
            .reply(200, Reply::Json(any_object()))
            .errors(Errors::Idx)
    };
    vec![
        step("introspect", "The transaction's current state", schema_ref::<IntrospectRequest>()),
        step("identify", "Sign in (identifier and password), or name the account to recover", schema_ref::<IdentifyRequest>()),
        step("recover", "Forgot password: ask for the identifier", schema_ref::<RecoverRequest>()),
        step(
            "challenge",
            "Choose an authenticator: the email (the code is mailed) or, at a step-up, the TOTP app",
            schema_ref::<ChallengeRequest>(),
        ),
        step("credential/enroll", "Choose the authenticator to set up during sign-in (the TOTP app)", schema_ref::<ChallengeRequest>()),
        step("challenge/answer", "The emailed code, a TOTP value, or the new password", schema_ref::<AnswerRequest>()),
        step("challenge/resend", "Mail a new code", schema_ref::<ResendRequest>()),
        step("cancel", "Back to the sign-in form", schema_ref::<CancelRequest>()),
        // The widget's live check of a new password at the reset step: `{"strong": bool}`, or
        // `{"error": …}` (no transaction at the reset step, a malformed form, unavailable).
        Op::new(&[HttpMethod::Post], "/widget/v1/password-strength", "idx", "Whether a new password is strong enough (reset step only)")
            .body(Body::Form { required: &["stateHandle", "password"], optional: &[] })
            .reply(200, Reply::Json(any_object()))
            .errors(Errors::Idx),
    ]
}
