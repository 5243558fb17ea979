//! The hub's integration tests: each runs against SQLite and, when `LOTLINE_TEST_PG` holds a
//! PostgreSQL URL, against PostgreSQL too (each test in a fresh schema).

mod hub {
    mod cli;
    pub mod common;
    mod crash;
    mod flows;
    mod http;
    mod import;
    pub mod procs;
    mod twohubs;
}
