//! Usage, cost and subscription: the Admin API's reports (`admin_reports`), exact money
//! (`money`), report periods (`period`), the subscription endpoint, its cache and the
//! plans (`subscription`, `plans`), and how figures are drawn (`chart`).

pub mod admin_reports;
pub mod chart;
pub mod money;
pub mod period;
pub mod plans;
pub mod subscription;
