//! The recipe: recovery by the emailed link, in the same browser and elsewhere.
use crate::harness::{browser, scanner, spawn, text_of, widget_options};

#[tokio::test]
async fn opening_the_link_without_the_session_changes_nothing_and_the_code_still_works() {
    let env = spawn().await;
    env.create_user("linus@example.com").await;
    let original = browser();
    let page = env.open_login(&original).await;
    let state_handle = env.start_recovery(&page, "linus@example.com").await;
    let (otp, state) = env.emailed_code("linus@example.com").await;
    assert_eq!(state, page.state, "the email carries the app's interact state");

    // A mail scanner GETs and HEADs the link; the page is the same for a wrong code (PRE-2).
    let scanned = env.open_link(&scanner(), &otp, &state).await;
    assert!(scanned.headers().get("set-cookie").is_none());
    let scanned = text_of(&scanned.text().await.expect("body"));
    let wrong = env.open_link(&scanner(), "000000", &state).await;
    assert_eq!(text_of(&wrong.text().await.expect("body")).replace("000000", &otp), scanned);
    for _ in 0..10 {
        env.open_link(&scanner(), &otp, &state).await;
    }
    let link = format!("{}/magic-link/callback", env.app);
    for _ in 0..3 {
        scanner().head(&link).query(&[("otp", otp.as_str()), ("state", state.as_str())]).send().await.expect("HEAD");
    }

    // The original browser finishes with the same code and ends signed in.
    let code = env.finish_recovery(&state_handle, &otp).await;
    let done = env.login_callback(&original, &code, &page.state).await;
    assert_eq!(done.status(), 200);
    assert!(text_of(&done.text().await.expect("body")).contains("linus@example.com"));
}

#[tokio::test]
async fn the_link_in_the_original_browser_renders_the_widget_with_the_code() {
    let env = spawn().await;
    env.create_user("margaret@example.com").await;
    let original = browser();
    let page = env.open_login(&original).await;
    env.start_recovery(&page, "margaret@example.com").await;
    let (otp, state) = env.emailed_code("margaret@example.com").await;

    let response = env.open_link(&original, &otp, &state).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let options = widget_options(&response.text().await.expect("body")).expect("the widget page");
    assert_eq!(options["otp"], otp.as_str());
    assert_eq!(options["state"], state.as_str());
    assert_eq!(options["interactionHandle"], page.interaction_handle.as_str(), "the same interaction as the original tab");

    // A reload after the page removed otp and state from the address bar still has them.
    let reload = original.get(format!("{}/magic-link/callback", env.app)).send().await.expect("reload");
    let options = widget_options(&reload.text().await.expect("body")).expect("the widget page again");
    assert_eq!(options["otp"], otp.as_str());

    // Another browser with its own, different sign-in gets only the message.
    let other = browser();
    env.open_login(&other).await;
    let elsewhere = env.open_link(&other, &otp, &state).await;
    let text = text_of(&elsewhere.text().await.expect("body"));
    assert!(text.contains(&format!("Please enter the code '{otp}' in the original browser tab to finish the flow.")), "{text}");
}

/// Issue 13, item 6: starting again in the same browser (a second tab, a reload of /login)
/// resumes the unfinished sign-in, whose email was sent, instead of opening a transaction that
/// the mail gap would leave without one. The code of that email finishes the resumed sign-in.
#[tokio::test]
async fn starting_again_in_the_same_browser_resumes_the_sign_in_whose_email_was_sent() {
    let env = spawn().await;
    env.create_user("grace@example.com").await;
    let original = browser();
    let first = env.open_login(&original).await;
    let state_handle = env.start_recovery(&first, "grace@example.com").await;
    let (otp, state) = env.emailed_code("grace@example.com").await;

    let again = env.open_login(&original).await;
    assert_eq!(again.interaction_handle, first.interaction_handle, "the same transaction");
    assert_eq!(again.state, state, "the state the email carries");
    let code = env.finish_recovery(&state_handle, &otp).await;
    let done = env.login_callback(&original, &code, &again.state).await;
    assert_eq!(done.status(), 200);
    assert!(text_of(&done.text().await.expect("body")).contains("grace@example.com"));

    // After the sign-in finished, a new start is a new transaction; another browser never shares one.
    let after = env.open_login(&original).await;
    assert_ne!(after.interaction_handle, first.interaction_handle);
    assert_ne!(env.open_login(&browser()).await.interaction_handle, after.interaction_handle);
}
