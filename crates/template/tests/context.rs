//! The render context: dotted paths build nested maps.

use chrono::{TimeZone, Utc};
use latchkey_template::{Context, Value};

#[test]
fn dotted_set_builds_and_extends_nested_maps() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date");
    let mut ctx = Context::new(now).with("user", "scalar in the way");
    ctx.set("user.profile.firstName", "Ann");
    ctx.set("user.profile.lastName", Value::Null);
    assert_eq!(ctx.get("user.profile.firstName"), Some(&Value::Str("Ann".into())));
    assert_eq!(ctx.get("user.profile.lastName"), Some(&Value::Null));
    assert_eq!(ctx.get("user.profile.missing"), None);
    assert_eq!(ctx.get("user.profile.firstName.deeper"), None);
    assert_eq!(ctx.locale(), "en-US");
    assert_eq!(ctx.clone().with_locale("fr").locale(), "fr");
    assert_eq!(ctx.now(), now);
}
