//! Protocol details.
