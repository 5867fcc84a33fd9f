//! The conformance suite every `crm` store runs.
//!
//! Scenarios are plain `pub async fn scenario(store: Arc<dyn CrmStore>)` functions grouped
//! by theme ([`crud`], [`filters`], [`sorting`], [`paging`], [`isolation`],
//! [`concurrency`], [`atomicity`], [`rules`], [`validation`], [`audit`], ...). They panic on failure. Each
//! creates fresh random tenants, so every scenario can share one database and run in
//! parallel with the others.
//!
//! A store crate wires the suite with one line in an integration test; the macro expands
//! to one `#[tokio::test]` per scenario (the calling crate needs `tokio` with the `macros`
//! and `rt-multi-thread` features as a dev-dependency):
//!
//! ```text
//! crm_store_conformance::conformance_tests!(|| async {
//!     std::sync::Arc::new(crm_store_memory::MemoryStore::new())
//!         as std::sync::Arc<dyn crm_core::store::CrmStore>
//! });
//! ```
//!
//! The factory is any expression callable as `factory()` returning a future of
//! `Arc<dyn CrmStore>`, or of `Option<Arc<dyn CrmStore>>` for a backend that may be
//! unavailable (`None` skips the scenario; the factory prints why): a closure as above, or
//! the name of an `async fn` in the test file.
#![warn(missing_docs)]

pub mod atomicity;
pub mod audit;
pub mod concurrency;
pub mod crud;
pub mod duplicates;
pub mod edges;
pub mod filters;
pub mod isolation;
pub mod merge;
pub mod paging;
pub mod rules;
pub mod sales;
pub mod service;
pub mod sorting;
pub mod support;
pub mod validation;

pub use support::Store;

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per
/// scenario of the suite, each calling `factory().await` for a store and then the scenario.
///
/// The generated tests live in one module per theme (`crud::customer_crud`, ...), so
/// `cargo test crud::` runs a theme. The scenario list below is the one place that names
/// every scenario: append new scenarios (or new `theme: [...]` groups, whose functions live
/// in `$crate::theme`) there.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_expand! {
            factory: ($factory),
            crud: [
                customer_crud,
                customer_get_many,
                apply_reports_stored_versions,
                contact_crud,
                contact_point_crud,
                location_crud,
                consent_crud,
                lead_crud,
                pipeline_crud,
                deal_crud,
                stage_change_crud,
                activity_crud,
                interaction_crud,
                note_crud,
                tag_crud,
                tag_assignment_crud,
                follow_up_crud,
                owned_item_crud,
                attachment_crud,
                insert_then_update_in_one_change_set,
                empty_change_set_and_unguarded_delete,
                missing_rows_not_found,
            ],
            filters: [
                customer_plain_filters,
                customer_tag_filter,
                customer_text_search,
                customer_text_search_follows_changes,
                contact_filters,
                contact_point_filters,
                location_filters,
                consent_filters,
                lead_filters,
                pipeline_filters,
                deal_filters,
                stage_change_filters,
                activity_filters,
                interaction_filters,
                note_filters,
                tag_filters,
                tag_assignment_filters,
                follow_up_filters,
                owned_item_filters,
                attachment_filters,
            ],
            sorting: [
                customer_sorts,
                contact_sorts,
                contact_point_sorts,
                location_sorts,
                consent_sorts,
                lead_sorts,
                pipeline_sorts,
                deal_sorts,
                stage_change_sorts,
                activity_sorts,
                interaction_sorts,
                note_sorts,
                tag_sorts,
                tag_assignment_sorts,
                follow_up_sorts,
                owned_item_sorts,
                attachment_sorts,
                ties_broken_by_id,
                names_sort_case_insensitively,
                nulls_last_ascending_first_descending,
            ],
            paging: [
                pages_concatenate_to_full_list,
                pages_respect_filters_and_count,
                last_page_has_no_cursor,
                paging_while_inserting_concurrently,
                paging_while_deleting_concurrently,
                limit_out_of_range_is_validation,
                cursor_of_other_order_is_validation,
                encoded_cursor_round_trips,
            ],
            isolation: [
                reads_are_tenant_scoped,
                updates_from_other_tenant_not_found,
                deletes_from_other_tenant_not_found,
                references_across_tenants_not_found,
                record_of_other_tenant_is_validation,
                unique_keys_are_per_tenant,
                filters_never_cross_tenants,
            ],
            concurrency: [
                concurrent_updates_one_winner,
                concurrent_updates_every_kind,
                stale_delete_conflicts,
                concurrent_unique_inserts_one_winner,
                concurrent_primary_contacts_one_winner,
                concurrent_distinct_inserts_all_land,
                concurrent_parent_delete_and_child_insert,
            ],
            atomicity: [
                stale_version_last_rolls_back,
                missing_reference_last_rolls_back,
                duplicate_unique_key_last_rolls_back,
                delete_of_referenced_row_last_rolls_back,
                duplicate_id_in_one_change_set_rolls_back,
                other_tenant_record_last_rolls_back,
                failed_set_keeps_unique_keys_and_references,
            ],
            rules: [
                duplicate_id_already_exists,
                tag_name_unique_case_insensitive,
                customer_external_ref_unique,
                one_primary_contact_per_customer,
                one_primary_contact_point_per_kind_and_owner,
                one_primary_location_per_customer,
                one_consent_per_subject,
                one_default_pipeline_and_unique_names,
                unique_tag_assignment,
                switch_primary_in_one_change_set,
                unique_keys_freed_by_update_and_delete,
                delete_referenced_rows_in_use,
                delete_children_then_parent_in_one_change_set,
                missing_references_not_found,
                update_to_missing_reference_not_found,
                unique_key_names_are_stable,
            ],
            validation: [
                customer_validation,
                pipeline_validation,
                value_types_validation,
            ],
            edges: [
                search_text_of_any_size_is_answered_or_refused,
                phone_search_reads_international_and_national_prefixes,
                nul_and_out_of_range_times_are_validation,
                service_refuses_unstorable_values,
                extreme_numbers_never_panic,
                typed_contact_values_are_normalised_and_matched,
            ],
            duplicates: [
                scan_finds_duplicates_and_saves_model,
                model_saves_beside_stale_settings,
                scans_and_merges_report_progress_and_cancel,
                lookups_checked_create_conversion_and_merge,
                small_tenants_find_an_obvious_duplicate,
                companies_pair_by_name_domain_and_phone,
                shared_email_with_another_name_is_for_review,
                only_open_leads_are_scanned,
            ],
            merge: [
                merge_then_unmerge_is_identity,
                merge_survivorship_rules_and_dry_run,
                unmerge_refuses_changed_rows_and_tenants_are_fenced,
                private_notes_stay_private_on_every_read_path,
                merge_keeps_the_most_complete_address_and_unites_lists,
            ],
            service: [
                service_validates_input,
                primary_contact_switching,
                primary_contact_point_per_kind_and_owner,
                contact_must_belong_to_customer,
                links_fill_in_customer,
                interaction_moves_contact_dates,
                deal_stage_rules_and_history,
                private_notes_are_private,
                tagging,
                customer_360_view,
                nested_create_is_atomic_and_whole,
                timeline_merges_and_pages,
                delete_customer_cascades,
                delete_customer_with_deals_is_refused,
                service_tenant_isolation,
                service_optimistic_update,
                service_update_keeps_created_at,
            ],
            audit: [
                every_write_is_audited_with_before_and_after,
                audit_is_append_only_and_atomic,
                audit_keeps_private_notes_private,
            ],
            sales: [
                pipeline_configuration,
                stage_history_queries,
                activity_lifecycle,
                follow_up_lifecycle,
                lead_lifecycle,
                lead_conversion,
                lead_conversion_is_atomic_at_every_step,
                outbox_records_state_changes,
                external_events_advance_deals_once,
                tenant_settings_drive_the_rules,
                lead_conversion_into_existing_customer,
                lead_conversion_into_existing_customer_is_atomic,
                lead_conversion_contact_choice_and_concurrency,
                external_events_report_why_unchanged,
                external_mapping_is_validated_on_save,
                pipeline_edits_emit_deal_events,
            ],
        }
    };
}

/// Implementation detail of [`conformance_tests!`]: turns `theme: [scenario, ...]` groups
/// into test modules.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_expand {
    (factory: ($factory:expr), $($theme:ident : [$($scenario:ident),* $(,)?]),* $(,)?) => {
        $(
            #[allow(unused_imports)]
            mod $theme {
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $scenario() {
                        let store = $crate::__private::IntoStore::into_store(($factory)().await);
                        // `None`: the factory printed why this backend is skipped.
                        if let Some(store) = store {
                            $crate::$theme::$scenario(store).await;
                        }
                    }
                )*
            }
        )*
    };
}

/// Re-exports used by the macros.
#[doc(hidden)]
pub mod __private {
    pub use crm_core::store::CrmStore;
    use std::sync::Arc;

    /// What a factory may return: a store, or `None` when the backend is not available
    /// (e.g. no database configured) and the scenario is to be skipped.
    pub trait IntoStore {
        /// The store to run the scenario on, if any.
        fn into_store(self) -> Option<Arc<dyn CrmStore>>;
    }

    impl IntoStore for Arc<dyn CrmStore> {
        fn into_store(self) -> Option<Arc<dyn CrmStore>> {
            Some(self)
        }
    }

    impl IntoStore for Option<Arc<dyn CrmStore>> {
        fn into_store(self) -> Option<Arc<dyn CrmStore>> {
            self
        }
    }
}
