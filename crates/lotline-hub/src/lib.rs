//! lotline-hub: the central server (see `docs/sync-protocol.md`).
