//! crm facade
