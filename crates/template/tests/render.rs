//! Template → expected output, one line per behaviour.

use chrono::{TimeZone, Utc};
use latchkey_template::{parse, Context, OutputMode, Value};

use OutputMode::{Html, Subject, Text};

const HOSTILE_STATE: &str = "\"><a href=//evil.test>x</a>&otp=1";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).single().expect("valid date")
}

/// The context most cases use: a recovery email's variables.
fn ctx() -> Context {
    Context::new(now())
        .with("oneTimePassword", "123456")
        .with("request.relayState", "abc123")
        .with("resetPasswordLink", "https://id.example/reset?token=t1&x=y")
        .with("user.profile.firstName", "Ann")
        .with("user.profile.lastName", "O'Brien & Co")
        .with("user.profile.nickName", Value::Null)
        .with("org.name", "Example")
        .with("emptyString", "")
        .with("zero", 0i64)
        .with("flag", true)
        .with("items", Value::List(vec!["a".into(), "b".into(), "c".into()]))
        .with("noItems", Value::List(vec![]))
        .with("expires", now() + chrono::Duration::minutes(90))
        .with("expiresStr", "2026-11-30T12:00:00Z")
        .with("hostile", "<script>alert(1)</script>")
        .with("state", HOSTILE_STATE)
        .with("multiLine", "Reset\r\nBcc: att@y\0")
}

#[track_caller]
fn check(src: &str, ctx: &Context, mode: OutputMode, expected: &str) {
    let template = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    let out = template.render(ctx, mode).unwrap_or_else(|e| panic!("render {src:?}: {e}"));
    assert_eq!(out, expected, "template: {src:?}");
}

#[track_caller]
fn html(src: &str, expected: &str) {
    check(src, &ctx(), Html, expected);
}

#[track_caller]
fn text(src: &str, expected: &str) {
    check(src, &ctx(), Text, expected);
}

#[test]
fn references() {
    html("Hi ${user.profile.firstName}!", "Hi Ann!");
    html("Hi $user.profile.firstName.", "Hi Ann.");
    html("$oneTimePassword", "123456");
    html("${oneTimePassword}x", "123456x");
    html("costs $5 or US$ 10 or $", "costs $5 or US$ 10 or $");
    html("$!{user.profile.firstName}", "Ann");
    html("$!user.profile.firstName", "Ann");
    html("a$!{nope}b$!nope.c", "ab");
    html("\\$oneTimePassword and \\#if", "$oneTimePassword and #if");
}

#[test]
fn undefined_names_print_literally_unless_quiet() {
    html("x ${foo} y", "x ${foo} y");
    html("x $foo.bar y", "x $foo.bar y");
    html("x ${user.profile.middleName} y", "x ${user.profile.middleName} y");
    html("x $!{foo} y", "x  y");
}

#[test]
fn documented_but_null_names_render_empty() {
    html("[${user.profile.nickName}]", "[]");
    html("[$user.profile.nickName]", "[]");
    html("#if($user.profile.nickName)yes#{else}no#end", "no");
}

#[test]
fn if_elseif_else() {
    let src = "#if(${oneTimePassword}) code: ${oneTimePassword} #else <a href=\"${resetPasswordLink}\">Reset</a> #end";
    html(src, " code: 123456 ");
    let no_otp = ctx().with("oneTimePassword", "");
    check(src, &no_otp, Html, " <a href=\"https://id.example/reset?token=t1&amp;x=y\">Reset</a> ");
    html("#if($zero)a#elseif($emptyString)b#elseif($flag)c#{else}d#end", "c");
    html("#if($nope)a#elseif($zero)b#{else}d#end", "d");
    html("#if(!$nope)a#end", "a");
    html("#if(not $flag)a#{else}b#end", "b");
    html("#{if}($flag)yes#{end}", "yes");
    html("#if ($flag)spaced#end", "spaced");
}

#[test]
fn nested_ifs() {
    html("#if($flag)A#if($zero)B#elseif($oneTimePassword)C#if($emptyString)D#{else}E#end#end#{else}F#end", "ACE");
}

#[test]
fn operators() {
    html("#if($flag && $oneTimePassword)y#end", "y");
    html("#if($flag and $zero)y#{else}n#end", "n");
    html("#if($zero || $flag)y#end", "y");
    html("#if($zero or $emptyString)y#{else}n#end", "n");
    html("#if(($zero || $flag) && !($emptyString))y#end", "y");
    html("#if($oneTimePassword == \"123456\")eq#end", "eq");
    html("#if($oneTimePassword == '123456')eq#end", "eq");
    html("#if($user.profile.firstName != 'Bob')ne#end", "ne");
    html("#if($org.name eq 'Example')eq#end", "eq");
    html("#if($zero == 0 && $zero < 1 && 2 > 1 && 2 >= 2 && -1 <= 0)num#end", "num");
    html("#if($flag == true)b#end", "b");
    html("#if($flag == 'true')s#end", "s");
    html("#if($nope == null)null#end", "null");
    html("#if($user.profile.nickName == $nope)both-null#end", "both-null");
}

#[test]
fn set_and_string_interpolation() {
    html("#set($x = 'v')[$x]", "[v]");
    html("#set($name = \"Dear $user.profile.firstName\")$name", "Dear Ann");
    html("#set($n = 3)#if($n == 3)three#end", "three");
    html("#set($u = $f.toUpperCase($org.name))$u", "EXAMPLE");
    html("#set( $x = $nope )[$!x]", "[]");
}

#[test]
fn foreach() {
    html("#foreach($i in $items)$i#end", "abc");
    html("#foreach($i in $items)$foreach.count:$i#if($foreach.hasNext),#end#end", "1:a,2:b,3:c");
    html("#foreach($i in $items)$velocityCount#end", "123");
    html("#foreach($i in $noItems)x#end-", "-");
    html("#foreach($i in $nope)x#end-", "-");
    html("#set($i = 'outer')#foreach($i in $items)#end$i", "outer");
}

#[test]
fn whitespace_gobbling_for_lines_holding_only_a_directive() {
    text("Hello\n#if($flag)\n  yes\n#end\nbye", "Hello\n  yes\nbye");
    text("  #set($x = 1)\n$x", "1");
    text("a ## comment\nb", "a b");
    text("## whole line\nb", "b");
    text("a #* block *# b", "a  b");
    text("a\n#* block\nspans *#\nb", "a\nb");
    text("#[[ $raw #if ]]#", " $raw #if ");
    text("#if($flag) x #end\n", " x \n");
}

#[test]
fn css_colours_and_unknown_hashes_are_text() {
    html(
        "<td style=\"color:#fafafa;background:#333\">#1 #hashtag #endpoint</td>",
        "<td style=\"color:#fafafa;background:#333\">#1 #hashtag #endpoint</td>",
    );
}

#[test]
fn string_helpers() {
    html("$f.replace($org.name, 'Ex', 'S')", "Sample");
    html("${f.replace($org.name, \"a\", \"\")}", "Exmple");
    html("$f.substring($org.name, 2)", "ample");
    html("$f.substring($org.name, 0, 2)", "Ex");
    html("$f.substring($org.name, -3)", "ple");
    html("$f.substring($org.name, 5, 99)", "le");
    html("$f.substringBefore('a.b.c', '.')", "a");
    html("$f.substringAfter('a.b.c', '.')", "b.c");
    html("$f.substringAfter('abc', 'x')|", "|");
    html("$f.substringBefore('abc', 'x')", "abc");
    html("$f.toLowerCase($org.name) $f.toUpperCase($org.name)", "example EXAMPLE");
    html("${f.toUpperCase($f.substring($user.profile.firstName, 0, 1))}", "A");
    html("[$f.toUpperCase($user.profile.nickName)]", "[]");
}

#[test]
fn escape_helpers_are_not_escaped_twice() {
    html("$f.escapeHtml($hostile)", "&lt;script&gt;alert(1)&lt;/script&gt;");
    html("$f.escapeHtml($user.profile.lastName)", "O&#39;Brien &amp; Co");
    html("<p title=\"$f.escapeHtmlAttr($user.profile.lastName)\">", "<p title=\"O&#x27;Brien&#x20;&#x26;&#x20;Co\">");
    // In a URL query the original value is percent-encoded, not the entities.
    html("<a href=\"https://x.test/?n=$f.escapeHtml($user.profile.lastName)\">", "<a href=\"https://x.test/?n=O%27Brien%20%26%20Co\">");
    text("$f.escapeHtml($user.profile.lastName)", "O&#39;Brien &amp; Co");
}

#[test]
fn time_helpers() {
    html("$f.formatTimeDiffHoursNow($expires)", "2");
    html("$f.formatTimeDiffHoursNowInUserLocale($expires)", "2");
    html("$f.formatTimeDiffHoursNow($expiresStr)", "24");
    html("$f.formatTimeDiffHoursNow('2020-01-01T00:00:00Z')", "0");
    html("$f.formatTimeDiffDateNow($expires)", "2026-11-29 13:30 UTC");
    html("$f.formatTimeDiffDateNowInUserLocale($expires)", "11/29/2026 1:30 PM UTC");
    html("[$f.formatTimeDiffDateNow($nope)]", "[]");
    let de = ctx().with_locale("de-DE");
    check("$f.formatTimeDiffDateNowInUserLocale($expires)", &de, Html, "29.11.2026 13:30 UTC");
    let gb = ctx().with_locale("en_GB");
    check("$f.formatTimeDiffDateNowInUserLocale($expires)", &gb, Html, "29/11/2026 13:30 UTC");
    let ja = ctx().with_locale("ja-JP");
    check("$f.formatTimeDiffDateNowInUserLocale($expiresStr)", &ja, Html, "2026/11/30 12:00 UTC");
    let sv = ctx().with_locale("sv");
    check("$f.formatTimeDiffDateNowInUserLocale($expiresStr)", &sv, Html, "2026-11-30 12:00 UTC");
}

#[test]
fn time_helper_rejects_a_non_date() {
    let t = parse("$f.formatTimeDiffHoursNow($org.name)").expect("parses");
    let err = t.render(&ctx(), Html).expect_err("not a date");
    assert!(err.to_string().contains("formatTimeDiffHoursNow"), "{err}");
}

#[test]
fn html_escaping_in_text_and_attributes() {
    html("<p>Hi ${hostile}</p>", "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>");
    html("<p>${user.profile.lastName}</p>", "<p>O&#39;Brien &amp; Co</p>");
    html("<img alt=\"$hostile\">", "<img alt=\"&lt;script&gt;alert(1)&lt;/script&gt;\">");
    html("<img alt='$user.profile.lastName'>", "<img alt='O&#39;Brien &amp; Co'>");
    html("<img alt=$user.profile.lastName>", "<img alt=O&#39;Brien&#x20;&amp;&#x20;Co>");
    html("<div $user.profile.lastName>", "<div O&#39;Brien&#x20;&amp;&#x20;Co>");
    html("<!-- $hostile -->", "<!-- &lt;script&gt;alert(1)&lt;/script&gt; -->");
    // Template source text itself is never altered.
    html("<b>&amp; 'quoted'</b>", "<b>&amp; 'quoted'</b>");
}

#[test]
fn recipe_link_in_html_percent_encodes_query_values() {
    let recipe = "<a href=\"https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}\">Reset</a>";
    html(recipe, "<a href=\"https://app.example/magic-link/callback?otp=123456&state=abc123\">Reset</a>");
    let hostile = ctx().with("request.relayState", HOSTILE_STATE);
    check(
        recipe,
        &hostile,
        Html,
        "<a href=\"https://app.example/magic-link/callback?otp=123456&state=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1\">Reset</a>",
    );
    // Before the `?` a value is part of the path: HTML-escaped, not percent-encoded.
    html(
        "<a href='https://x.test/${org.name}/p?s=$state'>",
        "<a href='https://x.test/Example/p?s=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1'>",
    );
    // A link value carrying its own `?` makes what follows a query.
    html(
        "<a href=\"${resetPasswordLink}&s=$state\">",
        "<a href=\"https://id.example/reset?token=t1&amp;x=y&s=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1\">",
    );
    // Outside the attribute, the same value is only HTML-escaped.
    html(
        "<a href=\"https://x.test/?s=1\">$state</a>",
        "<a href=\"https://x.test/?s=1\">&quot;&gt;&lt;a href=//evil.test&gt;x&lt;/a&gt;&amp;otp=1</a>",
    );
    html("<img src=\"/logo.png?v=${org.name} x\">", "<img src=\"/logo.png?v=Example x\">");
}

#[test]
fn html_context_edge_cases() {
    // Attribute names are case-insensitive; single quotes work like double quotes.
    html("<A HREF='/cb?s=$org.name&n=${user.profile.lastName}'>", "<A HREF='/cb?s=Example&n=O%27Brien%20%26%20Co'>");
    // A `?` in a non-URL attribute is just text.
    html("<p title=\"Why? $user.profile.lastName\">", "<p title=\"Why? O&#39;Brien &amp; Co\">");
    // `<` inside <script> does not open a tag; the closing tag returns to running text.
    html("<script>if (a<b) {}</script><p title=\"$org.name\">", "<script>if (a<b) {}</script><p title=\"Example\">");
    // A closed attribute ends the URL query.
    html("<a href=\"/x?a=1\" title=\"$user.profile.lastName\">", "<a href=\"/x?a=1\" title=\"O&#39;Brien &amp; Co\">");
    // Unquoted URL attribute value.
    html("<a href=/cb?s=$state>", "<a href=/cb?s=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1>");
    // Whitespace ends a running-text URL.
    html("https://x.test/?a=1 $user.profile.lastName", "https://x.test/?a=1 O&#39;Brien &amp; Co");
}

#[test]
fn running_text_urls() {
    html(
        "Open https://app.example/cb?otp=$oneTimePassword&state=$state now: $state",
        "Open https://app.example/cb?otp=123456&state=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1 now: &quot;&gt;&lt;a href=//evil.test&gt;x&lt;/a&gt;&amp;otp=1",
    );
    text(
        "Open https://app.example/cb?otp=${oneTimePassword}&state=${state}\nor ask $state",
        "Open https://app.example/cb?otp=123456&state=%22%3E%3Ca%20href%3D%2F%2Fevil.test%3Ex%3C%2Fa%3E%26otp%3D1\nor ask \"><a href=//evil.test>x</a>&otp=1",
    );
    text("${resetPasswordLink}&s=${org.name} ok", "https://id.example/reset?token=t1&x=y&s=Example ok");
    text("Why? ${user.profile.lastName}", "Why? O'Brien & Co");
}

#[test]
fn text_mode_does_not_html_escape() {
    text("Hi ${hostile} ${user.profile.lastName}", "Hi <script>alert(1)</script> O'Brien & Co");
}

#[test]
fn subject_mode_strips_line_breaks_and_nul() {
    check("Reset for ${multiLine}\r\n", &ctx(), Subject, "Reset for ResetBcc: att@y");
    check("Hi ${hostile}", &ctx(), Subject, "Hi <script>alert(1)</script>");
}

#[test]
fn values_print_like_velocity() {
    html("$items $zero $flag", "[a, b, c] 0 true");
    html("$expires", "2026-11-29T13:30:00Z");
    html("$user.profile", "{firstName=Ann, lastName=O&#39;Brien &amp; Co, nickName=}");
}

#[test]
fn templates_are_reusable_and_shareable() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<latchkey_template::Template>();
    let t = parse("Hi $user.profile.firstName").expect("parses");
    let copy = t.clone();
    assert_eq!(t.render(&ctx(), Html).ok(), copy.render(&ctx(), Text).ok());
}
