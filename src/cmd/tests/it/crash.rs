//! Crash consistency.
