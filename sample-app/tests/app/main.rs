//! Black-box tests of the sample app: a real identity server on a loopback port (fresh SQLite,
//! a real SMTP sink), the real app on another, and reqwest "browsers" with cookie jars that
//! drive IDX exactly as the widget would. One test binary, one file per behaviour.
mod harness;

mod callbacks;
mod magic_link;
mod sign_in;
