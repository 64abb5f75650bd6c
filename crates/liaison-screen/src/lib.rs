//! liaison-screen
