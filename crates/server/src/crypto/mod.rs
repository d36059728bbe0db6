//! Key material and the CPU-heavy cryptography: the master key, the shared key ring, password
//! hashing (with its reused working memory) and token signing.
mod argon2_memory;
pub mod imported;
pub mod keyring;
pub mod master;
pub mod password;
pub mod rotation;
pub mod tokens;
pub mod verify;
