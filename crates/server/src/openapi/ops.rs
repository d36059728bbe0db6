//! One documented operation, and how it becomes an OpenAPI operation. The adapters' files list
//! their operations with these few shapes instead of repeating the builders.
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Paths, Ref, RefOr, Required, ResponseBuilder};
use utoipa::ToSchema;

/// The security scheme of the management API.
pub const SSWS: &str = "ssws";

/// A request body.
// Built a few dozen times at start for the document, never moved in a hot path: boxing the
// schema would only add noise to every operation's declaration.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    None,
    /// `application/json`, the schema named.
    Json(RefOr<Schema>),
    /// `application/x-www-form-urlencoded` with these string members (the required ones
    /// first); unknown members are accepted, as OAuth clients send them.
    Form {
        required: &'static [&'static str],
        optional: &'static [&'static str],
    },
    /// `multipart/form-data` with one required binary field of this name (an upload).
    Multipart(&'static str),
}

/// A response body.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // as `Body`: built at start only
pub enum Reply {
    /// `application/json`, this schema.
    Json(RefOr<Schema>),
    /// `text/html`: a page for a person.
    Html,
    /// No body (204, a redirect, revocation's 200).
    Empty,
}

/// Where an adapter's errors come from, and in which shape.
#[derive(Clone, Copy)]
pub enum Errors {
    /// IDX: the envelope (with the transaction's state when it is known).
    Idx,
    /// OAuth: `{"error", "error_description"}`.
    OAuth,
    /// Okta's management errors: `{"errorCode", "errorSummary", …}`.
    Okta,
    /// Hosted pages: HTML.
    Html,
}

impl Errors {
    fn reply(self) -> Reply {
        match self {
            Self::Idx => Reply::Json(any_object()),
            Self::OAuth => Reply::Json(schema_ref::<latchkey_proto::oauth::OAuthError>()),
            Self::Okta => Reply::Json(schema_ref::<latchkey_proto::management::OktaError>()),
            Self::Html => Reply::Html,
        }
    }
}

pub struct Op {
    pub methods: &'static [HttpMethod],
    pub path: String,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: &'static [&'static str],
    pub body: Body,
    pub replies: Vec<(u16, Reply)>,
    pub errors: Errors,
    /// Needs the admin token (`Authorization: SSWS …`).
    pub admin: bool,
}

impl Op {
    pub fn new(methods: &'static [HttpMethod], path: impl Into<String>, tag: &'static str, summary: &'static str) -> Self {
        Self {
            methods,
            path: path.into(),
            tag,
            summary,
            query: &[],
            body: Body::None,
            replies: Vec::new(),
            errors: Errors::OAuth,
            admin: false,
        }
    }

    pub fn query(mut self, names: &'static [&'static str]) -> Self {
        self.query = names;
        self
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    pub fn reply(mut self, status: u16, reply: Reply) -> Self {
        self.replies.push((status, reply));
        self
    }

    pub fn errors(mut self, errors: Errors) -> Self {
        self.errors = errors;
        self
    }

    pub fn admin(mut self) -> Self {
        self.admin = true;
        self.errors = Errors::Okta;
        self
    }

    pub fn add_to(self, paths: &mut Paths) {
        let mut op = OperationBuilder::new().tag(self.tag).summary(Some(self.summary));
        for name in path_parameters(&self.path) {
            op = op.parameter(
                ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True).schema(Some(string())),
            );
        }
        for name in self.query {
            op = op.parameter(
                ParameterBuilder::new().name(*name).parameter_in(ParameterIn::Query).required(Required::False).schema(Some(string())),
            );
        }
        op = match self.body {
            Body::None => op,
            Body::Json(schema) => op.request_body(Some(
                RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", Content::new(Some(schema))).build(),
            )),
            Body::Form { required, optional } => {
                let mut form = ObjectBuilder::new().schema_type(Type::Object);
                for name in required.iter().chain(optional) {
                    form = form.property(*name, string());
                }
                for name in required {
                    form = form.required(*name);
                }
                op.request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .content("application/x-www-form-urlencoded", Content::new(Some(form.build())))
                        .build(),
                ))
            }
            Body::Multipart(field) => {
                let file = ObjectBuilder::new().schema_type(Type::String).content_media_type("application/octet-stream").build();
                let form = ObjectBuilder::new().schema_type(Type::Object).property(field, file).required(field);
                op.request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .content("multipart/form-data", Content::new(Some(form.build())))
                        .build(),
                ))
            }
        };
        for (status, reply) in &self.replies {
            op = op.response(status.to_string(), response("The answer.", reply, false));
        }
        let error = self.errors.reply();
        op = op
            .response(
                "429",
                response("Too many requests from this address or for this account; retry after `Retry-After` seconds.", &error, true),
            )
            .response("503", response("The database or the hashing queue is unavailable; retry after `Retry-After` seconds.", &error, true))
            .response("default", response("Refused, in the adapter's error shape.", &error, false));
        if self.admin {
            op = op.security(SecurityRequirement::new(SSWS, Vec::<String>::new()));
        }
        paths.add_path_operation(&self.path, self.methods.to_vec(), op.build());
    }
}

fn response(description: &str, reply: &Reply, retry_after: bool) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(description);
    match reply {
        Reply::Json(schema) => response = response.content("application/json", Content::new(Some(schema.clone()))),
        Reply::Html => response = response.content("text/html", Content::new(Some(string()))),
        Reply::Empty => {}
    }
    if retry_after {
        response = response.header("Retry-After", Header::new(ObjectBuilder::new().schema_type(Type::Integer).build()));
    }
    response.build()
}

/// `{name}` segments of a route.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

pub fn schema_ref<T: ToSchema>() -> RefOr<Schema> {
    Ref::from_schema_name(T::name()).into()
}

pub fn array_of<T: ToSchema>() -> RefOr<Schema> {
    ArrayBuilder::new().items(schema_ref::<T>()).build().into()
}

/// An object whose members this document does not spell out (the IDX envelope, a template).
pub fn any_object() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).build().into()
}

pub fn any_array() -> RefOr<Schema> {
    ArrayBuilder::new().items(any_object()).build().into()
}

fn string() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).build().into()
}
