//! liaison-policy
