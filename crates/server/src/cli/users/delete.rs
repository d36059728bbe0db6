//! `latchkey users delete ID_OR_LOGIN`: Okta's two steps, deactivate then delete, in one.
pub async fn run(user: &str) -> Result<(), String> {
    let api = super::users_api()?;
    let path = super::user_path(user);
    let current = api.send(reqwest::Method::GET, &path, None).await?;
    // The first DELETE of a user that is not yet deactivated only deactivates it.
    if current["status"] != "DEPROVISIONED" {
        api.send(reqwest::Method::DELETE, &path, None).await?;
    }
    api.send(reqwest::Method::DELETE, &path, None).await?;
    println!("deleted");
    Ok(())
}
