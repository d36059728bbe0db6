//! The three error types of the crate: one per phase (parse, name check, render).
//!
//! Positions are 1-based; columns count Unicode scalar values (chars), not bytes,
//! so an editor that shows "line 3, column 14" points at the same spot.

/// The template source is not valid: position of the first problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self { line, column, message: message.into() }
    }
}

/// A template reads a variable the caller's allow-list refuses (typo protection at save time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: `${{{name}}}` is not a known template variable")]
pub struct CheckError {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// Rendering stopped: a safety limit was hit or a helper got an argument it cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The output grew past [`crate::MAX_OUTPUT_BYTES`].
    #[error("output exceeds {limit} bytes")]
    OutputTooLarge { limit: usize },
    /// A single `#foreach` list is longer than [`crate::MAX_LOOP_ITERATIONS`], or all loops
    /// together ran more than [`crate::MAX_TOTAL_ITERATIONS`] times.
    #[error("line {line}, column {column}: #foreach exceeds {limit} iterations")]
    TooManyIterations { limit: usize, line: usize, column: usize },
    /// The render evaluated more than [`crate::MAX_RENDER_STEPS`] nodes (guards against
    /// nested loops that produce no output but burn CPU).
    #[error("template needs more than {limit} evaluation steps")]
    TooMuchWork { limit: usize },
    /// A `$f` helper received an argument it cannot interpret (e.g. a date helper given "soon").
    #[error("line {line}, column {column}: $f.{function}: {message}")]
    BadArgument { function: &'static str, message: String, line: usize, column: usize },
}
