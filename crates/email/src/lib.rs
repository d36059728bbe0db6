//! Latchkey's email: the outbox payload (sealed at rest), rendering from Velocity templates in
//! the recipient's language, SMTP or mailbox delivery, and the outbox worker that drives them.
//!
//! The flow: the server builds an [`EmailPayload`] and queues it with
//! [`new_outbox_message`] in the same transaction as the state change that causes it. An
//! [`OutboxWorker`] claims due rows, opens and renders them with a [`Renderer`], sends through a
//! [`Transport`] and records the outcome; nothing here ever holds a database transaction while
//! talking to a mail server.

mod backoff;
mod customized;
mod dkim;
mod html_text;
mod kinds;
mod locale;
mod message;
pub mod metrics;
mod owner;
mod payload;
mod render;
mod templates;
mod transport;
mod variables;
mod worker;

pub use customized::{check_customization, language_key, required_variables, Customizations, Problem, MAX_BODY_BYTES, MAX_SUBJECT_CHARS};
pub use dkim::dkim_config;
pub use html_text::html_to_text;
pub use kinds::EmailKind;
pub use message::{compose, mask_address, ComposeError};
pub use owner::{OutboxOwner, HEARTBEAT_INTERVAL};
pub use payload::{new_outbox_message, open_payload, EmailPayload, PayloadError};
pub use render::{EmailTemplates, RenderError, RenderedEmail, Renderer};
pub use templates::{builtin_source, BuiltinSource, LANGUAGES};
pub use transport::{SendError, Transport, TransportError};
pub use variables::is_documented_variable;
pub use worker::{OutboxWorker, WorkerSettings};
