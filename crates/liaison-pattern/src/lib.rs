//! liaison-pattern
