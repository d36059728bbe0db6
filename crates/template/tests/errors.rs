//! Malformed and forbidden templates fail at parse time with the position of the problem;
//! runaway renders stop at a limit.

use chrono::{TimeZone, Utc};
use latchkey_template::{parse, Context, OutputMode, RenderError, Value, MAX_LOOP_ITERATIONS};

#[track_caller]
fn parse_error(src: &str, line: usize, column: usize, message_part: &str) {
    let err = parse(src).expect_err(&format!("{src:?} should not parse"));
    assert_eq!((err.line, err.column), (line, column), "{src:?}: {err}");
    assert!(err.message.contains(message_part), "{src:?}: {err}");
    assert_eq!(err.to_string(), format!("line {line}, column {column}: {}", err.message));
}

#[test]
fn unclosed_blocks_point_at_their_opening_directive() {
    parse_error("Hi\n  #if($a)\nyes", 2, 3, "never closed");
    parse_error("#if($a)x#else y", 1, 1, "never closed");
    parse_error("a #foreach($i in $items) x", 1, 3, "never closed");
}

#[test]
fn stray_directives() {
    parse_error("one\ntwo #end", 2, 5, "`#end` without");
    parse_error("#else", 1, 1, "`#else` without");
    parse_error("x #elseif($a)", 1, 3, "`#elseif` without");
    parse_error("#if($a)#else#else#end", 1, 13, "second `#else`");
    parse_error("#foreach($i in $l)#else#end", 1, 19, "inside `#foreach`");
}

#[test]
fn unterminated_references() {
    parse_error("Hello ${user.profile.firstName", 1, 7, "unterminated `${`");
    parse_error("a\nb ${ x}", 2, 3, "expected a variable name");
    parse_error("${}", 1, 1, "expected a variable name");
    parse_error("$!{x.y z}", 1, 1, "unterminated `${`");
    parse_error("$f.substring($x, 1", 1, 4, "unterminated call");
}

#[test]
fn bad_expressions() {
    parse_error("#if($a = 1)x#end", 1, 8, "expected `)`");
    parse_error("#if()x#end", 1, 5, "unexpected `)`");
    parse_error("#if($a == )x#end", 1, 11, "unexpected `)`");
    parse_error("#if(a)x#end", 1, 5, "unexpected `a`");
    parse_error("#if $a#end", 1, 5, "expected `(`");
    parse_error("#if(\"open)#end", 1, 5, "unterminated string");
    parse_error("#if($a $b)#end", 1, 8, "expected `)`");
    parse_error("#set($a.b = 1)", 1, 8, "plain variable");
    parse_error("#set($a 1)", 1, 9, "expected `=`");
    parse_error("#foreach($i of $l)#end", 1, 13, "expected `in`");
    parse_error("#foreach($i in [1, 2])#end", 1, 16, "list variable");
    parse_error("#if(99999999999999999999999 == 1)#end", 1, 5, "invalid integer");
}

#[test]
fn forbidden_directives() {
    parse_error("ok\n#macro(x)#end", 2, 1, "`#macro` is not allowed");
    parse_error("#include('/etc/passwd')", 1, 1, "`#include` is not allowed");
    parse_error("  #parse('x.vm')", 1, 3, "`#parse` is not allowed");
    parse_error("#evaluate('$x')", 1, 1, "`#evaluate` is not allowed");
    parse_error("#{define}($x)#end", 1, 1, "`#define` is not allowed");
    parse_error("#stop", 1, 1, "`#stop` is not allowed");
}

#[test]
fn only_f_helpers_are_callable() {
    parse_error("$user.getClass()", 1, 7, "method calls are not allowed");
    parse_error("${user.profile.firstName.toString()}", 1, 26, "method calls are not allowed");
    parse_error("$f.exec('ls')", 1, 4, "unknown helper `$f.exec`");
    parse_error("$f.toUpperCase()", 1, 4, "takes 1 argument");
    parse_error("$f.substring($a)", 1, 4, "takes 2 to 3 argument");
    parse_error("Hi $f", 1, 5, "helper functions");
    parse_error("#set($f = 1)", 1, 6, "cannot be rebound");
}

#[test]
fn column_counts_chars_not_bytes() {
    parse_error("héllo wörld #end", 1, 13, "`#end` without");
}

#[test]
fn nesting_is_capped_without_overflowing_the_stack() {
    let deep_ifs = "#if(true)".repeat(100);
    parse_error(&deep_ifs, 1, 1 + 9 * 64, "nested more than 64");
    let parens = format!("#if({}true)#end", "(".repeat(100_000));
    assert!(parse(&parens).is_err());
    let nots = format!("#if({}true)#end", "!".repeat(100_000));
    assert!(parse(&nots).is_err());
    let calls = format!("{}$x{}", "$f.toUpperCase(".repeat(1000), ")".repeat(1000));
    assert!(parse(&calls).is_err());
    // Long flat chains are fine: they are not nesting.
    let chain = format!("#if($a{})y#end", " && $a".repeat(10_000));
    assert!(parse(&chain).is_ok());
}

fn ctx() -> Context {
    Context::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date"))
}

#[test]
fn foreach_over_a_huge_list_is_refused() {
    let list = Value::List((0..=MAX_LOOP_ITERATIONS as i64).map(Value::Int).collect());
    let ctx = ctx().with("l", list);
    let t = parse("#foreach($i in $l)$i#end").expect("parses");
    assert!(matches!(t.render(&ctx, OutputMode::Text), Err(RenderError::TooManyIterations { .. })));
}

#[test]
fn nested_loops_hit_the_total_iteration_budget() {
    let list = Value::List((0..1000).map(Value::Int).collect());
    let ctx = ctx().with("l", list);
    let t = parse("#foreach($a in $l)#foreach($b in $l)#foreach($c in $l)#end#end#end").expect("parses");
    assert!(matches!(t.render(&ctx, OutputMode::Text), Err(RenderError::TooManyIterations { .. })));
}

#[test]
fn output_is_capped() {
    let list = Value::List((0..1000).map(Value::Int).collect());
    let ctx = ctx().with("l", list).with("big", "x".repeat(10_000));
    let t = parse("#foreach($i in $l)$big#end").expect("parses");
    assert!(matches!(t.render(&ctx, OutputMode::Html), Err(RenderError::OutputTooLarge { .. })));
}

#[test]
fn hostile_inputs_parse_in_linear_time() {
    let size = 200_000;
    let inputs = [
        "$".repeat(size),
        "$!".repeat(size / 2),
        "#".repeat(size),
        "#{".repeat(size / 2),
        "#{if".repeat(size / 4),
        "#[".repeat(size / 2),
        "$a.".repeat(size / 3),
        "\\$".repeat(size / 2),
        "#fff ".repeat(size / 5),
        "#set($a = 1)\n".repeat(size / 13),
        "  #if($a)\n#end\n".repeat(size / 16),
        format!("#if({})#end", "$a || ".repeat(size / 7) + "$a"),
        format!("#if('{}')#end", "x".repeat(size)),
    ];
    for src in &inputs {
        let started = std::time::Instant::now();
        if let Ok(t) = parse(src) {
            let _ = t.referenced_names();
            let _ = t.render(&ctx(), OutputMode::Html);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "slow on input starting {:?}", &src[..20]);
    }
}

#[test]
fn busy_loops_without_output_hit_the_step_budget() {
    let list = Value::List((0..1000).map(Value::Int).collect());
    let ctx = ctx().with("l", list);
    let src = format!("#foreach($i in $l){}#end", "#set($a = 1)".repeat(1100));
    let t = parse(&src).expect("parses");
    assert!(matches!(t.render(&ctx, OutputMode::Text), Err(RenderError::TooMuchWork { .. })));
}
