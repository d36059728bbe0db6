//! Set-password links an administrator's action creates: the activation link of a user
//! without a password and the link of an admin-started reset. One place decides the token
//! (256 bits, stored as SHA-256), its lifetime (configured), and whether it is emailed or
//! handed back to the administrator (Okta's `sendEmail=false`, audited: security-checklist ADM-3).
//! Every link is logged in its own transaction: an activation link as `user.lifecycle.activate`,
//! an administrator's reset as `user.account.reset_password` (WARN when returned), the
//! administrator as the actor; the event never holds the token or the link.
use latchkey_domain::audit::EventType;
use latchkey_domain::{BearerToken, UserStatus};
use latchkey_store::{NewPasswordToken, UserRecord};

use super::{AdminAuth, AdminError};
use crate::config::ms;
use crate::state::AppState;
use latchkey_email::EmailKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Activation,
    AdminReset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::AdminReset => "admin_reset",
        }
    }

    fn event_type(self) -> EventType {
        match self {
            Self::Activation => EventType::UserActivate,
            Self::AdminReset => EventType::PasswordReset,
        }
    }
}

/// What the administrator asked for besides the link: whether it is emailed, and whether the
/// link comes with the user's activation (the move to PROVISIONED, in the link's transaction).
#[derive(Debug, Clone, Copy)]
pub struct Issue {
    pub send_email: bool,
    pub activate: bool,
}

/// A link that was not emailed, for the administrator's response.
pub struct ReturnedLink {
    pub url: String,
    pub token: String,
}

/// Creates the link (ending older ones of the user) and either queues its email in the same
/// transaction (`send_email`) or returns it, logging the change in that transaction.
pub async fn issue(
    (state, auth): (&AppState, &AdminAuth),
    account: &UserRecord,
    purpose: LinkPurpose,
    Issue { send_email, activate }: Issue,
) -> Result<Option<ReturnedLink>, AdminError> {
    if !send_email && !state.settings.admin.return_links {
        return Err(AdminError::Forbidden(
            "sendEmail=false would return the user's set-password link to the caller; enable admin.return_links (LATCHKEY_ADMIN__RETURN_LINKS=true) to allow it".to_owned(),
        ));
    }
    let token = BearerToken::generate();
    let link = crate::mail::set_password_link(&state.public_url, token.expose());
    let now = state.store.now().await?;
    let lifetime = match purpose {
        LinkPurpose::Activation => ms(state.settings.recovery.activation_token_secs),
        LinkPurpose::AdminReset => ms(state.settings.recovery.admin_reset_token_secs),
    };
    let expires_at = now + lifetime;
    let message = if send_email {
        let keys = state.keys().await;
        let built = match purpose {
            LinkPurpose::Activation => {
                crate::mail::link_email(state, &keys, account, (EmailKind::UserActivation, "activationLink"), &link, expires_at, now)
            }
            LinkPurpose::AdminReset => crate::mail::link_email(
                state,
                &keys,
                account,
                (EmailKind::PasswordResetByAdmin, "resetPasswordLink"),
                &link,
                expires_at,
                now,
            ),
        };
        Some(built.map_err(AdminError::Internal)?)
    } else {
        None
    };
    let digest = token.digest();
    state
        .store
        .issue_password_token(
            NewPasswordToken {
                user_id: &account.user.id,
                purpose: purpose.as_str(),
                token_digest: &digest,
                expires_at,
                message,
                event_type: purpose.event_type(),
                status: activate.then_some(UserStatus::Provisioned),
            },
            &auth.audit(),
            now,
        )
        .await?;
    let user_id = account.user.id.as_str();
    if send_email {
        state.outbox_wake.notify_one();
        tracing::info!(event = "admin.set_password_link_emailed", purpose = purpose.as_str(), user_id = %user_id, "set-password link emailed");
        Ok(None)
    } else {
        // The administrator now holds a link that sets this user's password: logged as WARN.
        tracing::warn!(event = "admin.set_password_link_returned", purpose = purpose.as_str(), user_id = %user_id, "set-password link returned to the administrator instead of emailed");
        Ok(Some(ReturnedLink { url: link, token: token.expose().to_owned() }))
    }
}
