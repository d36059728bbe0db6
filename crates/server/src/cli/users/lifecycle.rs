//! `latchkey users suspend|unsuspend ID_OR_LOGIN`: a lifecycle operation of the management API.
pub async fn run(user: &str, action: &str) -> Result<(), String> {
    let path = format!("{}/lifecycle/{action}", super::user_path(user));
    super::users_api()?.send(reqwest::Method::POST, &path, None).await?;
    println!("{action}: done");
    Ok(())
}
