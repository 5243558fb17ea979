//! The hub's integration tests.
