//! liaison-store
