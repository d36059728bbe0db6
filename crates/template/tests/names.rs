//! The names a template reads, for save-time allow-listing.

use latchkey_template::{parse, CheckError, Reference};

const DOCUMENTED: &[&str] = &["oneTimePassword", "request.relayState", "resetPasswordLink", "user.profile.firstName", "org.name"];

fn names(src: &str) -> Vec<String> {
    parse(src).expect("parses").referenced_names().into_iter().map(|r| r.name).collect()
}

#[test]
fn referenced_names_lists_each_context_path_once_in_order() {
    let src = "Hi ${user.profile.firstName},\n#if(${oneTimePassword}) code ${oneTimePassword}\n#else <a href=\"${resetPasswordLink}?s=$f.escapeHtml($request.relayState)\">x</a>#end";
    assert_eq!(names(src), ["user.profile.firstName", "oneTimePassword", "resetPasswordLink", "request.relayState"]);
}

#[test]
fn locals_loop_variables_and_f_are_not_context_reads() {
    assert_eq!(names("$x #set($x = $org.name)$x"), ["x", "org.name"]);
    assert_eq!(names("#foreach($i in $items)$i $foreach.count $velocityCount $i.name#end $i"), ["items", "i"]);
    assert_eq!(names("#if($a == \"x $b\")#end$!c"), ["a", "b", "c"]);
}

#[test]
fn positions_point_at_the_dollar() {
    let refs = parse("ab\n  ${org.name}").expect("parses").referenced_names();
    assert_eq!(refs, [Reference { name: "org.name".into(), line: 2, column: 3 }]);
}

#[test]
fn check_names_catches_a_typo_at_its_position() {
    let t = parse("<p>Code:\n  <b>${oneTimePasword}</b> for ${user.profile.firstName}</p>").expect("parses");
    let err = t.check_names(|n| DOCUMENTED.contains(&n)).expect_err("typo must be refused");
    assert_eq!(err, CheckError { name: "oneTimePasword".into(), line: 2, column: 6 });
    assert_eq!(err.to_string(), "line 2, column 6: `${oneTimePasword}` is not a known template variable");
}

#[test]
fn check_names_accepts_documented_names() {
    let t = parse("#if($oneTimePassword)$oneTimePassword#{else}$resetPasswordLink#end $!org.name").expect("parses");
    assert_eq!(t.check_names(|n| DOCUMENTED.contains(&n)), Ok(()));
}
