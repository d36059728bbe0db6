//! The Okta-shaped management API (`admin::router`), behind the SSWS admin token.
use latchkey_proto::management::{OktaUser, UserWrite};
use utoipa::openapi::path::HttpMethod;

use super::ops::{any_array, any_object, array_of, schema_ref, Body, Op, Reply};

const TEMPLATE: &str = "/api/v1/brands/{brand}/templates/email/{template}";

pub fn operations() -> Vec<Op> {
    let user = || Reply::Json(schema_ref::<OktaUser>());
    let object = || Reply::Json(any_object());
    let list = || Reply::Json(any_array());
    let write = || Body::Json(schema_ref::<UserWrite>());
    vec![
        Op::new(&[HttpMethod::Get], "/api/v1/users", "users", "List or search users")
            .query(&["q", "filter", "search", "limit", "after"])
            .reply(200, Reply::Json(array_of::<OktaUser>()))
            .admin(),
        Op::new(&[HttpMethod::Post], "/api/v1/users", "users", "Create a user")
            .query(&["activate", "sendEmail"])
            .body(write())
            .reply(200, user())
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/users/{id}", "users", "Read a user by id or login").reply(200, user()).admin(),
        Op::new(&[HttpMethod::Post, HttpMethod::Put], "/api/v1/users/{id}", "users", "Update a user's profile or password")
            .body(write())
            .reply(200, user())
            .admin(),
        Op::new(&[HttpMethod::Delete], "/api/v1/users/{id}", "users", "Deactivate, then delete a user").reply(204, Reply::Empty).admin(),
        Op::new(&[HttpMethod::Post], "/api/v1/users/{id}/lifecycle/{action}", "users", "Activate, suspend, unlock, reset the password, …")
            .query(&["sendEmail"])
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Delete], "/api/v1/users/{id}/sessions", "users", "End every session of a user")
            .query(&["oauthTokens"])
            .reply(204, Reply::Empty)
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/policies", "policies", "List the policies of a type (PASSWORD is the one Latchkey has)")
            .query(&["type"])
            .reply(200, list())
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/policies/{id}", "policies", "Read a policy").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Put], "/api/v1/policies/{id}", "policies", "Replace the enrollment policy's settings (MFA_ENROLL)")
            .body(Body::Json(any_object()))
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/policies/{id}/rules", "policies", "List a policy's rules").reply(200, list()).admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/policies/{id}/rules/{rule}", "policies", "Read a policy rule").reply(200, object()).admin(),
        Op::new(
            &[HttpMethod::Put],
            "/api/v1/policies/{id}/rules/{rule}",
            "policies",
            "Replace a rule: the password rule (recovery's step-up) or the app sign-in rule (1FA or 2FA)",
        )
        .body(Body::Json(any_object()))
        .reply(200, object())
        .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/brands", "brands", "List brands").reply(200, list()).admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/brands/{brand}", "brands", "Read a brand").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/brands/{brand}/templates/email", "brands", "List email templates").reply(200, list()).admin(),
        Op::new(&[HttpMethod::Get], TEMPLATE, "brands", "Read an email template").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Get], format!("{TEMPLATE}/default-content"), "brands", "A template's default content")
            .query(&["language"])
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Get], format!("{TEMPLATE}/default-content/preview"), "brands", "The default content, rendered")
            .query(&["language"])
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Get], format!("{TEMPLATE}/customizations"), "brands", "List a template's customizations")
            .reply(200, list())
            .admin(),
        Op::new(&[HttpMethod::Post], format!("{TEMPLATE}/customizations"), "brands", "Create a customization")
            .body(Body::Json(any_object()))
            .reply(201, object())
            .admin(),
        Op::new(&[HttpMethod::Delete], format!("{TEMPLATE}/customizations"), "brands", "Delete every customization")
            .reply(204, Reply::Empty)
            .admin(),
        Op::new(&[HttpMethod::Get], format!("{TEMPLATE}/customizations/{{id}}"), "brands", "Read a customization")
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Put], format!("{TEMPLATE}/customizations/{{id}}"), "brands", "Replace a customization")
            .body(Body::Json(any_object()))
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Delete], format!("{TEMPLATE}/customizations/{{id}}"), "brands", "Delete a customization")
            .reply(204, Reply::Empty)
            .admin(),
        Op::new(&[HttpMethod::Get], format!("{TEMPLATE}/customizations/{{id}}/preview"), "brands", "A customization, rendered")
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Post], format!("{TEMPLATE}/test"), "brands", "Send a test email to the admin address")
            .body(Body::Json(any_object()))
            .reply(204, Reply::Empty)
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/mail/messages", "mail", "List outbox messages")
            .query(&["status", "limit"])
            .reply(200, list())
            .admin(),
        Op::new(&[HttpMethod::Post], "/api/v1/mail/messages/{id}/resend", "mail", "Queue a message again").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/logs", "logs", "The System Log: events in Okta's LogEvent shape, paged by Link headers")
            .query(&["since", "until", "after", "filter", "q", "sortOrder", "limit"])
            .reply(200, list())
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/users/{id}/factors", "factors", "List a user's factors").reply(200, list()).admin(),
        Op::new(&[HttpMethod::Post], "/api/v1/users/{id}/factors", "factors", "Enroll a TOTP factor (pending until activated)")
            .body(Body::Json(any_object()))
            .reply(200, object())
            .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/users/{id}/factors/{factor}", "factors", "Read a factor").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Delete], "/api/v1/users/{id}/factors/{factor}", "factors", "Remove a factor")
            .reply(204, Reply::Empty)
            .admin(),
        Op::new(
            &[HttpMethod::Post],
            "/api/v1/users/{id}/factors/{factor}/lifecycle/activate",
            "factors",
            "Activate a TOTP factor with a value",
        )
        .body(Body::Json(any_object()))
        .reply(200, object())
        .admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/brands/{brand}/themes", "brands", "List a brand's themes").reply(200, list()).admin(),
        Op::new(&[HttpMethod::Get], "/api/v1/brands/{brand}/themes/{theme}", "brands", "Read a theme").reply(200, object()).admin(),
        Op::new(&[HttpMethod::Put], "/api/v1/brands/{brand}/themes/{theme}", "brands", "Replace a theme's colours and variants")
            .body(Body::Json(any_object()))
            .reply(200, object())
            .admin(),
    ]
    .into_iter()
    .chain(["logo", "favicon"].into_iter().flat_map(|image| {
        let path = format!("/api/v1/brands/{{brand}}/themes/{{theme}}/{image}");
        [
            Op::new(&[HttpMethod::Post], path.clone(), "brands", "Upload the theme's image (PNG or JPEG, at most 100 KiB)")
                .body(Body::Multipart("file"))
                .reply(201, object())
                .admin(),
            Op::new(&[HttpMethod::Delete], path, "brands", "Remove the theme's image").reply(204, Reply::Empty).admin(),
        ]
    }))
    .collect()
}
