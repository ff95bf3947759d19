//! Errors that reach the user, and the exit codes they map to.
//!
//! Exit codes (documented in the README):
//! - 0: everything ran and succeeded;
//! - 1: a measured command or cell failed (non-zero exit, signal, OOM, timeout);
//! - 2: bad input: usage, a malformed suite or results file, a missing command, an unwritable output;
//! - 3: the host cannot do what was required (`--require SENSOR`, `--memory-method cgroup`);
//! - 130: interrupted by Ctrl-C (finished work was saved).

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: a measured command or cell failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_INPUT: i32 = 2;
/// Exit code: the host lacks a required capability.
pub const EXIT_HOST: i32 = 3;
/// Exit code: interrupted.
pub const EXIT_INTERRUPTED: i32 = 130;

/// An error with a known exit code; anything else that reaches `main` exits with 2 if it
/// is an input problem we can recognise, else 1.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Bad input: the message names the file and place and says what to do.
    #[error("{0}")]
    Input(String),
    /// The host cannot do what was required.
    #[error("{0}")]
    Host(String),
}

impl UserError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            UserError::Input(_) => EXIT_INPUT,
            UserError::Host(_) => EXIT_HOST,
        }
    }
}
