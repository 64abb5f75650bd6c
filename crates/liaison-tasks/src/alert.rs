//! Alerts (todo)
