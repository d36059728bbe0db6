//! `latchkey users get ID_OR_LOGIN`.
pub async fn run(user: &str) -> Result<(), String> {
    let out = super::users_api()?.send(reqwest::Method::GET, &super::user_path(user), None).await?;
    super::super::api::print(&out);
    Ok(())
}
